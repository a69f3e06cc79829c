import { defineConfig } from 'vitest/config';

// One run over every package: `npm test` prints a single summary that CI reads.
// The `source` condition resolves workspace packages to their TypeScript sources.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
