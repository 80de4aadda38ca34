import { useCallback, useEffect, useRef, useState } from 'react'
import { ApiFailure } from './client'

export interface Polled<T> {
  data: T | undefined
  error: ApiFailure | null
  loading: boolean
  updatedAt: number | null
  refresh: () => void
}

/**
 * Fetches now and then every `intervalMs` (null = only on demand). One request at a time: the next
 * is scheduled when the last one settles, so slow answers never stack. Paused while the tab is
 * hidden. On failure the last data stays on screen beside the error.
 */
export function usePolling<T>(key: string, fetcher: (signal: AbortSignal) => Promise<T>, intervalMs: number | null): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, 'refresh'>>({ data: undefined, error: null, loading: true, updatedAt: null })
  const fetcherRef = useRef(fetcher)
  fetcherRef.current = fetcher
  const run = useRef<() => void>(() => {})
  // A new interval takes effect from the next schedule; it does not fetch by itself.
  const interval = useRef(intervalMs)
  interval.current = intervalMs
  const reschedule = useRef<() => void>(() => {})

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let controller: AbortController | null = null
    let stopped = false
    setState((s) => ({ ...s, loading: true }))

    const schedule = () => {
      clearTimeout(timer)
      if (controller) return // the answer in flight schedules the next one
      if (!stopped && interval.current !== null && !document.hidden) timer = setTimeout(tick, interval.current)
    }
    async function tick() {
      if (controller) return // one in flight at a time
      clearTimeout(timer)
      controller = new AbortController()
      try {
        const data = await fetcherRef.current(controller.signal)
        if (!stopped) setState({ data, error: null, loading: false, updatedAt: Date.now() })
      } catch (err) {
        if ((err as Error).name === 'AbortError') return
        const failure = err instanceof ApiFailure ? err : new ApiFailure('api', (err as Error).message, '')
        if (!stopped) setState((s) => ({ ...s, error: failure, loading: false }))
      } finally {
        controller = null
        schedule()
      }
    }
    const onVisibility = () => (document.hidden ? clearTimeout(timer) : void tick())
    document.addEventListener('visibilitychange', onVisibility)
    run.current = () => void tick()
    reschedule.current = schedule
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
      controller?.abort()
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [key])
  useEffect(() => reschedule.current(), [intervalMs])

  const refresh = useCallback(() => run.current(), [])
  return { ...state, refresh }
}
