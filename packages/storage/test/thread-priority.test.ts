import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createTestDatabase } from '../../../tests/support/postgres.js'
import { niceByThread as niceOf } from '../../../tests/support/threads.js'
import { createPgSink, createSqliteSink, openReaderDb, type RowSink } from '../dist/index.js'
import { sampleRow } from './fixtures.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const niceByThread = () => niceOf(process.pid)
const threadsAt = (nice: number) => [...niceByThread()].filter(([, n]) => n === nice).map(([tid]) => tid)

// 13: a value nothing else in a test process has (the process itself runs at 0, or at what CI gave it).
const NICE = 13

const linux = process.platform === 'linux'

async function sqliteSink(nice?: number): Promise<{ sink: RowSink; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'storage-nice-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'metrics.db')
  const sink = await createSqliteSink({ file, nice })
  return { sink, file }
}

test.runIf(linux)('the SQLite writer thread runs at the nice value it was given, the event loop at its own, and rows still land', async () => {
  const mainNice = niceByThread().get(process.pid)
  expect(threadsAt(NICE)).toEqual([])
  const { sink, file } = await sqliteSink(NICE)
  const writer = threadsAt(NICE)
  expect(writer).toHaveLength(1)
  expect(writer[0]).not.toBe(process.pid)
  expect(niceByThread().get(process.pid)).toBe(mainNice)
  await sink.insertBatch([sampleRow({ id: 'nice-1' }), sampleRow({ id: 'nice-2' })])
  const reader = openReaderDb(file)!
  expect(reader.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 2 })
  reader.close()
  await sink.close()
  // The thread is gone with the sink.
  expect(threadsAt(NICE)).toEqual([])
})

test.runIf(linux)('STORAGE_THREAD_NICE=0 leaves the writer thread at the priority of the rest', async () => {
  const before = new Set(threadsAt(0))
  const { sink } = await sqliteSink(0)
  const after = niceByThread()
  // Every thread the sink started runs at the process's own priority.
  const started = [...after.keys()].filter((tid) => !before.has(tid) && tid !== process.pid)
  expect(started.length).toBeGreaterThan(0)
  expect(started.map((tid) => after.get(tid))).toEqual(started.map(() => after.get(process.pid)))
  await sink.close()
})

test.runIf(linux)('the PostgreSQL writer thread runs at the nice value it was given', async () => {
  const db = await createTestDatabase()
  cleanups.push(db.drop)
  expect(threadsAt(NICE)).toEqual([])
  const sink = await createPgSink(db.url, { nice: NICE })
  expect(threadsAt(NICE)).toHaveLength(1)
  await sink.insertBatch([sampleRow({ id: 'nice-pg' })])
  await sink.close()
  expect(threadsAt(NICE)).toEqual([])
})
