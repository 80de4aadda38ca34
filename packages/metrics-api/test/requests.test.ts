import { RequestRecord, RequestsPage } from '@llm-proxy/core/contracts'
import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { afterEach, describe, expect, test } from 'vitest'
import { row, setup } from './helpers.js'

let s: ReturnType<typeof setup> | null = null
afterEach(async () => {
  await s?.close()
  s = null
})
const T = Date.UTC(2026, 0, 10, 12)

describe('GET /metrics/requests', () => {
  test('cursor paging walks every row exactly once while new rows arrive', async () => {
    s = setup()
    // Several rows share a timestamp, so the cursor must break ties.
    const rows = Array.from({ length: 230 }, (_, i) => row({ ts: T + Math.floor(i / 3) * 1000 }))
    await s.insert(rows)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await s.get(`/metrics/requests?limit=25${cursor ? `&cursor=${cursor}` : ''}`)
      const page = RequestsPage.parse(res.body)
      seen.push(...page.data.map((r) => r.id))
      for (let i = 1; i < page.data.length; i++) expect(Date.parse(page.data[i - 1].ts)).toBeGreaterThanOrEqual(Date.parse(page.data[i].ts))
      cursor = page.next_cursor
      // New rows land between pages, newer than everything (as the proxy writes them).
      await s.insert([row({ ts: T + 10_000_000 + pages })])
      pages++
    } while (cursor)
    expect(seen.slice(0, 1)).not.toContain(rows[0].id)
    const original = new Set(rows.map((r) => r.id))
    const walked = seen.filter((id) => original.has(id))
    expect(walked).toHaveLength(rows.length)
    expect(new Set(walked).size).toBe(rows.length)
    expect(pages).toBe(Math.ceil(rows.length / 25))
  })

  test('filters, limit, and one row by id with every field', async () => {
    s = setup()
    const target = row({ ts: T, model: 'special', user: 'carol', stream: true, ttft_ms: 12.5, tokens_estimated: true, cost_usd: 0.00123, endpoint: '/v1/messages' })
    await s.insert([target, row({ ts: T + 1 }), row({ ts: T + 2, user: 'dave' })])
    const page = RequestsPage.parse((await s.get('/metrics/requests?model=special')).body)
    expect(page.data.map((r) => r.id)).toEqual([target.id])
    expect((await s.get('/metrics/requests?user=dave')).body.data).toHaveLength(1)
    expect((await s.get('/metrics/requests?endpoint=/v1/messages')).body.data.map((r: { id: string }) => r.id)).toEqual([target.id])
    const bad = await s.get('/metrics/requests?endpoint=messages')
    expect(bad.status).toBe(400)
    expect(bad.body.error.param).toBe('endpoint')
    expect((await s.get('/metrics/requests?limit=2')).body.data).toHaveLength(2)
    expect((await s.get(`/metrics/requests?start=${T + 1}&end=${T + 2}`)).body.data).toHaveLength(1)

    const one = RequestRecord.parse((await s.get(`/metrics/requests/${target.id}`)).body)
    expect(one).toEqual({ ...target, ts: new Date(T).toISOString(), key_name: null })
    const missing = await s.get('/metrics/requests/nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error.param).toBe('id')
  })

  test('CSV export streams every matching row with a header', async () => {
    s = setup()
    await s.insert(Array.from({ length: 1200 }, (_, i) => row({ ts: T + i, error_message: i === 5 ? 'has, comma and "quotes"' : null, cost_usd: i === 7 ? 0.25 : null })))
    const res = await s.get('/metrics/requests.csv')
    expect(res.headers['content-type']).toMatch(/text\/csv/)
    const lines = (res.body as string).trimEnd().split('\n')
    expect(lines[0].split(',').slice(0, 3)).toEqual(['id', 'ts', 'endpoint'])
    const costColumn = lines[0].split(',').indexOf('cost_usd')
    expect(costColumn).toBeGreaterThan(0)
    expect(lines).toHaveLength(1201)
    expect(res.body).toContain('"has, comma and ""quotes"""')
    const costs = lines.slice(1).filter((l) => !l.includes('"')).map((l) => l.split(',')[costColumn])
    expect(costs.filter((c) => c !== '')).toEqual(['0.25'])
    const filtered = await s.get(`/metrics/requests.csv?start=${T}&end=${T + 10}`)
    expect((filtered.body as string).trimEnd().split('\n')).toHaveLength(11)
  })

  test('CSV cells that a spreadsheet would run as formulas are neutralised; control bytes dropped', async () => {
    s = setup()
    const hostile = ["=cmd|' /C calc'!A0", '+1+1', '-2+3', '@SUM(1,2)', '\tTAB', '\rCR', '=HYPERLINK("http://x","y")']
    await s.insert([
      ...hostile.map((user, i) => row({ ts: T + i, user })),
      row({ ts: T + 20, model: '=HYPERLINK("evil")', user_agent: '@agent', error_message: 'bell\u0007 and nul\u0000 bytes' }),
      row({ ts: T + 21, total_ms: -1.5 }),
    ])
    const csv = (await s.get('/metrics/requests.csv')).body as string
    const records = csv.trimEnd().split('\n').slice(1)
    expect(records).toHaveLength(hostile.length + 2)
    for (const line of csv.split('\n')) {
      // No cell begins with a formula character (numbers aside), quoted or not.
      for (const cell of line.split(',')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+@\t\r]|^-(?![\d.])/)
    }
    expect(csv).toContain(`"'=cmd|' /C calc'!A0"`)
    expect(csv).toContain(`"'=HYPERLINK(""evil"")"`)
    expect(csv).toContain("'@agent")
    expect(csv).not.toMatch(/[\u0000\u0007]/)
    expect(csv).toContain('bell and nul bytes')
    expect(csv).toContain(',-1.5,') // a negative number stays a number
  })
})

describe('GET /metrics/prometheus', () => {
  const counters = (text: string) =>
    Object.fromEntries(text.split('\n').filter((l) => l.startsWith('llm_proxy_') || l.includes('_count{')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]))

  test('valid exposition format (promtool), counters by model, outcome and status', async () => {
    s = setup()
    await s.insert([
      row({ ts: T, stream: true, ttft_ms: 30, tpot_ms: 12, cost_usd: 0.0015, overhead_ms: 0.3 }),
      row({ ts: T + 1, outcome: 'client_error', status_code: 429, error_type: 'x', cost_usd: 0.0005 }),
      row({ ts: T + 2, model: 'we"ird\\name' }),
    ])
    const res = await s.get('/metrics/prometheus')
    expect(res.headers['content-type']).toMatch(/text\/plain; version=0.0.4/)
    const text = res.body as string
    expect(text).toContain('llm_proxy_requests_total{model="m1",outcome="success",status_code="200"} 1')
    expect(text).toContain('llm_proxy_requests_total{model="m1",outcome="client_error",status_code="429"} 1')
    expect(text).toContain('model="we\\"ird\\\\name"')
    expect(text).toContain('gen_ai_server_time_to_first_token_seconds_bucket{model="m1",le="0.04"} 1')
    expect(text).toContain('gen_ai_server_time_to_first_token_seconds_bucket{model="m1",le="0.02"} 0')
    expect(text).toContain('llm_proxy_tokens_total{model="m1",type="prompt"} 20')
    // The proxy's own overhead, with sub-millisecond buckets.
    expect(text).toContain('llm_proxy_overhead_seconds_bucket{model="m1",le="0.00025"} 0')
    expect(text, text.split('\n').filter((l) => l.includes('overhead')).join('\n')).toContain('llm_proxy_overhead_seconds_bucket{model="m1",le="0.0005"} 1')
    expect(text).toContain('# TYPE llm_proxy_cost_usd_total counter')
    expect(text).toContain('llm_proxy_cost_usd_total{model="m1"} 0.002')
    // A model with no priced request has no cost series (rather than a cost of 0).
    expect(text).not.toContain('llm_proxy_cost_usd_total{model="we')

    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find(existsSync)
    if (!promtool) throw new Error('promtool is missing: apt-get install prometheus (.ci/run does)')
    const file = join(tmpdir(), `prom-${process.pid}.txt`)
    writeFileSync(file, text)
    expect(execFileSync('sh', ['-c', `${promtool} check metrics < ${file} 2>&1; echo "exit=$?"`], { encoding: 'utf8' })).toMatch(/exit=0/)
  })

  test('counters do not go backwards when raw rows are deleted or the API restarts', async () => {
    s = setup()
    await s.insert(Array.from({ length: 50 }, (_, i) => row({ ts: T - 40 * 86_400_000 + i, ttft_ms: 10 + i, stream: true })))
    await s.insert(Array.from({ length: 5 }, (_, i) => row({ ts: T + i })))
    const before = counters((await s.get('/metrics/prometheus')).body)
    expect(await s.deleteBefore(T - 30 * 86_400_000)).toBe(50)
    const afterRetention = counters((await s.get('/metrics/prometheus')).body)
    await s.restart()
    const afterRestart = counters((await s.get('/metrics/prometheus')).body)
    expect(afterRetention).toEqual(before)
    expect(afterRestart).toEqual(before)
    expect(before['llm_proxy_requests_total{model="m1",outcome="success",status_code="200"}']).toBe(55)
    // The summary over the deleted period still comes from the day rollups.
    expect((await s.get(`/metrics?start=${T - 41 * 86_400_000}&end=${T - 39 * 86_400_000}`)).body.requests.total).toBe(50)
  })
})
