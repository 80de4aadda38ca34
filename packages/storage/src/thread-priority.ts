import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Gives the calling thread the nice value `nice` (0–19; see DEFAULT_STORAGE_THREAD_NICE for why the
 * writer threads step back). Linux only, where the nice value belongs to each thread: setpriority()
 * on the thread's own id (read from /proc/thread-self) changes that thread and no other. Elsewhere
 * the value is the whole process's, so nothing is done. Returns the thread's id when it was
 * changed, null otherwise (0 asked, another system, or the call refused).
 */
export function lowerThreadPriority(nice: number): number | null {
  if (nice <= 0 || process.platform !== 'linux') return null
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isInteger(tid) || tid <= 0) return null
    setPriority(tid, nice)
    return tid
  } catch {
    return null
  }
}
