// Bundles the page into dist/, which the example's server serves at `/`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  // One copy of each in the page: two Yjs (or two Reacts) break it.
  resolve: { dedupe: ['yjs', 'lib0', 'react', 'react-dom'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
});
