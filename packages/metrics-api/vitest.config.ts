import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { name: 'metrics-api', include: ['test/**/*.test.ts'], testTimeout: 20_000 },
})
