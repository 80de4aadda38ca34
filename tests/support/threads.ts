import { readFileSync, readdirSync } from 'node:fs'

/** The nice value of each thread of a process (Linux: field 19 of /proc/PID/task/TID/stat). */
export function niceByThread(pid: number): Map<number, number> {
  const out = new Map<number, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      // The command name may hold spaces and parentheses: the fields start after the last ')'.
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
    } catch {
      // The thread ended while being read.
    }
  }
  return out
}
