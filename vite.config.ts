import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: ['.', '../shared'] } },
  build: { target: 'es2022' },
});
