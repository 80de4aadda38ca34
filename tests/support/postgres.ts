// PostgreSQL for the tests. .ci/run starts a throwaway cluster and sets TEST_DATABASE_URL; a plain
// `pnpm test` starts one here (vitest globalSetup) when PostgreSQL is installed. Each test gets a
// database of its own.
import postgres from 'postgres'
// @ts-expect-error plain JS helper shared with .ci/run
import { pgBinDir, startCluster, stopCluster } from '../../scripts/pg-cluster.mjs'

export default async function globalSetup(): Promise<() => void> {
  if (process.env.TEST_DATABASE_URL) return () => {}
  if (!pgBinDir()) throw new Error('PostgreSQL tests need a PostgreSQL server: apt-get install postgresql (or set TEST_DATABASE_URL)')
  const cluster = await startCluster()
  process.env.TEST_DATABASE_URL = cluster.url
  return () => stopCluster(cluster.dir, 'immediate')
}

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL
  if (!url) throw new Error('TEST_DATABASE_URL is not set (the PostgreSQL projects start a cluster in their globalSetup)')
  return url
}

let n = 0
/** A fresh, empty database on the test cluster; `drop()` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = testDatabaseUrl()
  const name = `t_${process.pid}_${Date.now().toString(36)}_${n++}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} })
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.end()
    },
  }
}

/** Which engine a suite runs on: the `*-postgres` projects set TEST_ENGINE=postgres. */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite'
