import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUpdateLogTests } from '@ystate/core/testing';
import { openFileLog } from '../src/index.js';

runUpdateLogTests('FileUpdateLog', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ystate-file-suite-'));
  return {
    log: await openFileLog({ dir }),
    reopen: () => openFileLog({ dir }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

runUpdateLogTests('FileUpdateLog (fsync never, one open document)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ystate-file-suite-'));
  return {
    log: await openFileLog({ dir, fsync: 'never', maxOpenDocuments: 1 }),
    reopen: () => openFileLog({ dir, fsync: 'never', maxOpenDocuments: 1 }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});
