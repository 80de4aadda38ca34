// Ingest load for the metrics benchmark: writes rows the way a proxy does (batches, rollups in the
// same transaction) at a target rate, to a SQLite file or a PostgreSQL URL; prints the achieved rate
// on SIGTERM.
import { createPgSink, createSqliteStore, openWriterDb } from '@llm-proxy/storage'
import { makeRowFactory } from './rows.mjs'

const [target, rateArg, seedArg] = process.argv.slice(2)
const rate = Number(rateArg ?? 5000)
const pg = /^postgres(ql)?:/.test(target)
let close
let insert
if (pg) {
  const sink = await createPgSink(target)
  insert = (rows) => sink.insertBatch(rows)
  close = () => sink.close()
} else {
  const db = openWriterDb(target)
  const store = createSqliteStore(db)
  insert = async (rows) => store.insertBatch(rows)
  close = async () => db.close()
}
const make = makeRowFactory(99 + Number(seedArg ?? 0))
const started = Date.now()
let written = 0
let busy = false
const timer = setInterval(async () => {
  if (busy) return
  const due = Math.floor(((Date.now() - started) / 1000) * rate) - written
  if (due <= 0) return
  busy = true
  const now = Date.now()
  const rows = Array.from({ length: due }, () => make(now))
  await insert(rows)
  written += rows.length
  busy = false
}, 100)
process.once('SIGTERM', async () => {
  clearInterval(timer)
  const secs = (Date.now() - started) / 1000
  console.log(JSON.stringify({ written, seconds: secs, rate: written / secs }))
  await close()
  process.exit(0)
})
