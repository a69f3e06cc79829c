import { defineConfig } from 'vitest/config';

// One run over every package: `npm test` prints a single summary that CI reads.
// The `source` condition resolves workspace packages to their TypeScript sources.
const timing = ['packages/*/test/trace-load.test.ts'];
// The benchmarks at smoke size: each runs servers, Redis and a load generator in child processes
// and checks every delivery within a drain window.
const bench = ['bench/test/**/*.test.ts'];

export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'packages/*/test/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
            // Browser tests (real Chromium, real servers); each sets its own, longer timeouts.
            'e2e/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', ...timing],
        },
      },
      {
        // Two benchmarks at once (CI runs two test files at a time) starve each other's generators
        // on a 2-core machine: they run one at a time, after the unit tests.
        extends: true,
        test: { name: 'bench', include: bench, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        // Tests that measure event-loop blocks run last and alone: other test files running
        // in parallel on a 2-core machine would be measured along with them.
        extends: true,
        test: { name: 'timing', include: timing, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
