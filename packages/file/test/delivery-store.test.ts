import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeliveryStoreTests } from '@ystate/core/testing';
import { expect, it } from 'vitest';
import { FileDeliveryStore } from '../src/index.js';

runDeliveryStoreTests('FileDeliveryStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ystate-delivery-'));
  const store = new FileDeliveryStore(dir);
  return {
    stores: [store],
    close: () => store.close(),
    reopen: async () => new FileDeliveryStore(dir),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

it('a read-only view sees what the writer stored, and refuses to write', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ystate-delivery-'));
  try {
    const writer = new FileDeliveryStore(dir);
    const reader = new FileDeliveryStore(dir, { readOnly: true });
    await writer.advance('hooks', 'a', 3);
    expect(await reader.cursors('hooks')).toEqual(new Map([['a', 3]]));
    await writer.advance('hooks', 'a', 4);
    expect(await reader.cursors('hooks')).toEqual(new Map([['a', 4]]));
    await expect(reader.advance('hooks', 'a', 5)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
