import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod's own source has comments Rollup cannot place (harmless: Rollup drops them). Not ours
        // to fix, and printed at length on every build; any other warning still shows.
        if (warning.code === 'INVALID_ANNOTATION' && /[\\/]node_modules[\\/].*zod[\\/]/.test(warning.id ?? '')) return
        warn(warning)
      },
    },
  },
  // `pnpm dev`: the API through the same /api prefix the production server uses.
  server: {
    port: 3000,
    proxy: { '/api': { target: process.env.METRICS_API_URL ?? 'http://127.0.0.1:8002', rewrite: (p) => p.replace(/^\/api/, '') } },
  },
})
