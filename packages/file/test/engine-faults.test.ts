import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineFaultTests } from '@ystate/core/testing';
import { openFileLog } from '../src/index.js';

runEngineFaultTests(
  'FileUpdateLog',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ystate-file-faults-'));
    return { log: await openFileLog({ dir }), teardown: () => rm(dir, { recursive: true, force: true }) };
  },
  { runs: 25 },
);
