// Bundles the page into dist/, which the example's server serves at `/`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  // One copy of each in the page: two Yjs (or two Reacts) break it.
  resolve: { dedupe: ['yjs', 'lib0', 'react', 'react-dom'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // CopilotKit's main chunk is ~2.5 MB (its chat UI, markdown, inspector come with the provider).
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // CopilotKit's dependencies mark modules "use client" (for React Server Components): meaningless in a page bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
