import type { ApiError } from './contracts/common.js'
import { ConfigError } from './env.js'

/**
 * An error a service answers itself, in OpenAI's shape `{"error":{message,type,param,code}}`.
 * `code` is stable (clients and rows match on it); `param` names the input at fault.
 */
export class OpenAiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'OpenAiError'
  }

  toBody(): ApiError {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

/** Loads a service's config at start; a bad variable ends the process with a message naming it. */
export function loadConfigOrExit<T>(service: string, load: () => T): T {
  try {
    return load()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${service}: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
}
