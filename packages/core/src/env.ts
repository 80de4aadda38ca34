import { z } from 'zod'

/** Thrown when an environment variable is missing or malformed; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export type Env = Record<string, string | undefined>

/**
 * Parses the environment with a zod object whose keys are variable names.
 * Empty strings count as unset, so `FOO=` in a compose file falls back to the default.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const cleaned: Env = {}
  for (const key of Object.keys(schema.shape)) {
    const value = env[key]
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim()
  }
  const result = schema.safeParse(cleaned)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)')
    const got = cleaned[name]
    // A password, token or key is never echoed: the message goes to logs.
    const secret = /PASSWORD|TOKEN|SECRET|_KEY$/.test(name)
    return `${name}: ${issue.message}${got === undefined || secret ? '' : ` (got ${JSON.stringify(got)})`}`
  })
  throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`)
}

export const port = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a port number' })
    .int('expected a whole number')
    .min(1, 'expected a port between 1 and 65535')
    .max(65535, 'expected a port between 1 and 65535')
    .default(fallback)

export const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .positive('expected a number above 0')
    .default(fallback)

export const boolFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(fallback)

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

/** A byte size such as `52428800`, `512kb` or `50mb`. */
export const byteSize = (fallback: number) =>
  z
    .string()
    .transform((value, ctx) => {
      const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value)
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a size in bytes, e.g. 52428800 or 50mb' })
        return z.NEVER
      }
      return Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()])
    })
    .pipe(z.number().int().positive('expected a size above 0'))
    .default(fallback)

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'expected one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info')

/** A URL whose scheme is one of `protocols` (e.g. `http:`). */
const urlOf = (protocols: readonly string[], message: string) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol)
    } catch {
      return false
    }
  }, message)

export const httpUrl = urlOf(['http:', 'https:'], 'expected an http:// or https:// URL')

/** A PostgreSQL connection URL; setting it moves every process from SQLite to PostgreSQL. */
export const postgresUrl = urlOf(['postgres:', 'postgresql:'], 'expected a postgres:// or postgresql:// URL')
