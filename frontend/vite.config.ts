import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 1200 },
  // `pnpm dev`: the API through the same /api prefix the production server uses.
  server: {
    port: 3000,
    proxy: { '/api': { target: process.env.METRICS_API_URL ?? 'http://127.0.0.1:8002', rewrite: (p) => p.replace(/^\/api/, '') } },
  },
})
