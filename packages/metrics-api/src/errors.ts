// An error answered in OpenAI's shape; `param` names the query parameter at fault.
import { OpenAiError as ApiProblem } from '@llm-proxy/core'
import type { z } from 'zod'

export { ApiProblem }

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
