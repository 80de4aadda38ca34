/** Query parameters whose values are secrets wherever they appear (`?api-key=sk-...`). */
const SECRET_PARAM = /^(key|api[-_]?key|apikey|token|access[-_]?token|auth|authorization|secret|password|passwd|pwd|sig|signature|x-api-key|client[-_]?secret)$/i

/** A URL fit for a log line: values of secret-looking query parameters replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const rawName = eq < 0 ? pair : pair.slice(0, eq)
      let name = rawName
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '))
      } catch {}
      return eq >= 0 && SECRET_PARAM.test(name.trim()) ? `${rawName}=[REDACTED]` : pair
    })
    .join('&')
  return `${url.slice(0, q)}?${query}`
}

/** Where rows go, for log lines: the PostgreSQL URL without its password, or the SQLite file. */
export function describeStorage(o: { databaseUrl?: string; dbPath: string }): string {
  if (!o.databaseUrl) return o.dbPath
  try {
    const url = new URL(o.databaseUrl)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return 'postgres://…'
  }
}
