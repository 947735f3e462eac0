import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: ['.', '../shared'] } },
  // Every page's imports are pre-bundled at start: a page first opened later (the embed page, the
  // benchmark pages) would otherwise make the dev server re-bundle and reload the pages open at the time.
  optimizeDeps: { entries: ['index.html', 'e2e/embed.html', 'bench/browser/*.html'] },
  build: { target: 'es2022' },
});
