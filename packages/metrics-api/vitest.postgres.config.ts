import { defineConfig } from 'vitest/config'

// The same suite against PostgreSQL: same answers expected.
export default defineConfig({
  test: {
    name: 'metrics-api-postgres',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    env: { TEST_ENGINE: 'postgres' },
    globalSetup: ['../../tests/support/postgres.ts'],
  },
})
