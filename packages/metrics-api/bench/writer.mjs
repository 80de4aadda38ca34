// Ingest load for the metrics benchmark: writes rows the way the proxy does (batches through the
// request store, rollups in the same transaction) at a target rate; prints the achieved rate on SIGTERM.
import { createSqliteStore as createRequestStore, openWriterDb } from '@llm-proxy/storage'
import { makeRowFactory } from './rows.mjs'

const [file, rateArg] = process.argv.slice(2)
const rate = Number(rateArg ?? 5000)
const db = openWriterDb(file)
const store = createRequestStore(db)
const make = makeRowFactory(99)
const started = Date.now()
let written = 0
const tick = 100
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * rate) - written
  if (due <= 0) return
  const now = Date.now()
  const rows = Array.from({ length: due }, () => make(now))
  store.insertBatch(rows)
  written += rows.length
}, tick)
process.once('SIGTERM', () => {
  clearInterval(timer)
  const secs = (Date.now() - started) / 1000
  console.log(JSON.stringify({ written, seconds: secs, rate: written / secs }))
  db.close()
  process.exit(0)
})
