import type { ApiError } from '@llm-proxy/core/contracts'
import type { z } from 'zod'

/** An error answered in OpenAI's shape; `param` names the query parameter at fault. */
export class ApiProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message)
  }

  toBody(): ApiError {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

export const badParam = (param: string, message: string) =>
  new ApiProblem(400, 'invalid_request_error', 'invalid_parameter', `Invalid query parameter '${param}': ${message}`, param)

/** Parses a query with a zod schema; the first problem becomes a 400 that names its parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const param = String(issue.path[0] ?? 'query')
  if (issue.code === 'unrecognized_keys') throw badParam(issue.keys[0], 'unknown parameter')
  throw badParam(param, issue.message)
}
