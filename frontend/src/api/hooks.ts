import { ModelsList, RequestsPage, Saturation, Summary, Timeseries } from '@llm-proxy/core/contracts'
import { getJson, type Params } from './client'
import { usePolling } from './use-polling'

/**
 * One hook per endpoint. `key` names what is asked (it restarts polling when it changes); `params`
 * is called at each fetch, so a relative range ("last hour") moves with the clock.
 */
export const useSummary = (key: string, params: () => Params, intervalMs: number | null) =>
  usePolling(`summary:${key}`, (signal) => getJson('/metrics', params(), Summary, signal), intervalMs)

export const useTimeseries = (key: string, params: () => Params, intervalMs: number | null) =>
  usePolling(`series:${key}`, (signal) => getJson('/metrics/timeseries', params(), Timeseries, signal), intervalMs)

export const useModels = (intervalMs: number | null) =>
  usePolling('models', (signal) => getJson('/metrics/models', {}, ModelsList, signal), intervalMs)

export const useRequestsPage = (key: string, params: () => Params, intervalMs: number | null) =>
  usePolling(`requests:${key}`, (signal) => getJson('/metrics/requests', params(), RequestsPage, signal), intervalMs)

export const fetchRequestsPage = (params: Params, signal?: AbortSignal) => getJson('/metrics/requests', params, RequestsPage, signal)

export const useSaturation = (key: string, params: () => Params, intervalMs: number | null) =>
  usePolling(`saturation:${key}`, (signal) => getJson('/metrics/saturation', params(), Saturation, signal), intervalMs)
