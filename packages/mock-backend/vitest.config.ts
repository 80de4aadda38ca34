import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { name: 'mock-backend', include: ['test/**/*.test.ts'] },
})
