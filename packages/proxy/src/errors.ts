// An error the proxy answers itself, in OpenAI's shape; its `code` is also the row's `error_type`.
import { OpenAiError as ProxyError } from '@llm-proxy/core'

export { ProxyError }

export const invalidJson = (detail: string) =>
  new ProxyError(400, 'invalid_request_error', 'invalid_json', `We could not parse the JSON body of your request: ${detail}`)

export const notAnObject = () =>
  new ProxyError(400, 'invalid_request_error', 'invalid_body', 'The request body must be a JSON object.')

export const bodyTooLarge = (limit: number) =>
  new ProxyError(413, 'invalid_request_error', 'request_too_large', `The request body is larger than the limit of ${limit} bytes.`)

export const unknownUrl = (method: string, url: string) =>
  new ProxyError(404, 'invalid_request_error', 'unknown_url', `Invalid URL (${method} ${url.split('?')[0]})`)

export const methodNotAllowed = (method: string, path: string, allow: readonly string[]) =>
  new ProxyError(
    405,
    'invalid_request_error',
    'method_not_allowed',
    `${method} is not supported on ${path}; use ${allow.length === 1 ? allow[0] : allow.join(' or ')}.`,
  )

/** Anthropic's error types by status (https://docs.anthropic.com/en/api/errors). */
function anthropicType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error'
    case 403:
      return 'permission_error'
    case 404:
      return 'not_found_error'
    case 413:
      return 'request_too_large'
    case 429:
      return 'rate_limit_error'
    case 504:
      return 'timeout_error'
    case 529:
      return 'overloaded_error'
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error'
  }
}

/** The body of an error the proxy answers itself, in the shape of the route's protocol. */
export function errorBody(error: ProxyError, anthropic: boolean): unknown {
  if (!anthropic) return error.toBody()
  return { type: 'error', error: { type: anthropicType(error.statusCode), message: error.message } }
}

/** Maps a failure talking to the backend, before any response byte was sent, to 502 or 504. */
export function upstreamFailure(err: Error & { code?: string }): ProxyError {
  const cause = { cause: err }
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyError(504, 'upstream_error', 'backend_timeout', 'The backend did not start answering in time.', null, cause)
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyError(502, 'upstream_error', 'backend_unreachable', 'Timed out connecting to the backend.', null, cause)
    default:
      return new ProxyError(502, 'upstream_error', 'backend_unreachable', `The backend could not be reached (${err.code ?? err.message}).`, null, cause)
  }
}

/** Turns any error reaching Fastify's error handler into a ProxyError. */
export function toProxyError(err: Error & { code?: string; statusCode?: number }, bodyLimit: number): ProxyError {
  if (err instanceof ProxyError) return err
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return bodyTooLarge(bodyLimit)
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return invalidJson(err.message)
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return new ProxyError(status, 'invalid_request_error', (err.code ?? 'bad_request').toLowerCase(), err.message)
  }
  return new ProxyError(500, 'server_error', 'internal_error', 'The proxy failed to handle the request.', null, { cause: err })
}

export const bodyTimeout = (ms: number) =>
  new ProxyError(408, 'invalid_request_error', 'request_timeout', `The request body did not arrive within ${ms} ms (BODY_TIMEOUT_MS).`)

/** What the proxy answers when Node's HTTP parser refuses a request, as raw HTTP bytes. */
export function clientErrorBody(err: Error & { code?: string }): { status: number; code: string; message: string; bytes: Buffer } {
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'The request did not arrive in time.']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'The request headers are too large.']
    : [400, 'malformed_request', `The HTTP request could not be parsed (${err.code ?? 'parse error'}).`]
  const body = JSON.stringify(new ProxyError(status, 'invalid_request_error', code, message).toBody())
  const reason = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
  const bytes = Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  return { status, code, message, bytes }
}
