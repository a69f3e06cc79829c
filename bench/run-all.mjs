/**
 * Runs every scenario, one after the other, each in its own process with the same arguments
 * (`npm run bench -- --size smoke`). Exits non-zero if any scenario failed.
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { benchDir } from './harness.mjs';
import { scenarios } from './scenarios.mjs';

const failed = [];
for (const name of scenarios) {
  const { status, signal } = spawnSync(
    process.execPath,
    [join(benchDir, `${name}.mjs`), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  if (status !== 0) failed.push(`${name} (${signal ?? `exit ${status}`})`);
  console.log('');
}
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
