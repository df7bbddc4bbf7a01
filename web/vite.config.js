// Vite build of the Omni console: `npm run build` writes web/dist, which `omni serve` serves at /.
// `npm run dev` proxies the API to a local `omni serve` on port 8080.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200, sourcemap: false },
  server: {
    proxy: {
      '/v1': { target: 'http://127.0.0.1:8080', ws: true },
      '/health': 'http://127.0.0.1:8080',
    },
  },
});
