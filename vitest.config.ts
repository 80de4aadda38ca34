import { defineConfig } from 'vitest/config'

// One root run over every package; each package keeps its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'packages/*/vitest.postgres.config.ts', 'frontend/vitest.*.config.ts', 'tests'],
  },
})
