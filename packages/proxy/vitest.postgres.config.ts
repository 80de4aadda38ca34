import { defineConfig } from 'vitest/config'

// The recording suites again with PostgreSQL as the store: one row per request on both engines.
export default defineConfig({
  test: {
    name: 'proxy-postgres',
    include: ['test/chat-completions.test.ts', 'test/failures.test.ts', 'test/capture.test.ts'],
    testTimeout: 30_000,
    env: { TEST_ENGINE: 'postgres' },
    globalSetup: ['../../tests/support/postgres.ts'],
  },
})
