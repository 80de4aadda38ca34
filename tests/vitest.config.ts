import { defineConfig } from 'vitest/config'

// Checks of what ships: the start script, the Docker setup without a Docker engine, the docs.
export default defineConfig({
  test: { name: 'ship', include: ['*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, globalSetup: ['./support/postgres.ts'] },
})
