// The library build: src/ui/lib.ts (<StarReader>, useStarReader, ReaderSession) as an ES module in dist/lib,
// React left to the host page. Types come from `tsc -p tsconfig.lib.json` (dist/lib/types).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  publicDir: false,
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist/lib',
    emptyOutDir: true,
    sourcemap: true,
    lib: { entry: 'src/ui/lib.ts', formats: ['es'], fileName: 'star-reader', cssFileName: 'star-reader' },
    rollupOptions: { external: [/^react(-dom)?($|\/)/] },
  },
});
