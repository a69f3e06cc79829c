import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ErrorCode } from './errors.js';
import { importDocument, verifyImport } from './import-document.js';
import { MemoryUpdateLog } from './memory-log.js';

/** A document's updates, one per transaction, with insertions and deletions. */
function updatesOf(rounds: number): { ydoc: Y.Doc; updates: Uint8Array[] } {
  const ydoc = new Y.Doc();
  const updates: Uint8Array[] = [];
  ydoc.on('update', (update: Uint8Array) => updates.push(update));
  const text = ydoc.getText('t');
  for (let i = 0; i < rounds; i++) {
    text.insert(0, `${i} `);
    if (i % 2 === 1) text.delete(1, 2);
    ydoc.getMap('m').set(`k${i % 3}`, i);
  }
  return { ydoc, updates };
}

async function* inBatches(updates: Uint8Array[], size: number): AsyncGenerator<Uint8Array[]> {
  for (let i = 0; i < updates.length; i += size) yield updates.slice(i, i + size);
}

const options = (log: MemoryUpdateLog, updates: Uint8Array[]) => ({
  log,
  docId: 'd',
  updates: inBatches(updates, 4),
  origin: 'test-source',
  describe: (index: number) => `update ${index}`,
});

describe('importDocument and verifyImport', () => {
  it('stores one entry per update in order, a checkpoint at the head, and verifies against the source', async () => {
    const log = new MemoryUpdateLog();
    const { ydoc, updates } = updatesOf(10);
    const result = await importDocument({ ...options(log, updates), time: 42 });
    expect(result.entries).toBe(updates.length);
    expect(result.checkpointSeq).toBe(updates.length);
    const entries = await log.read('d', { from: 1, to: updates.length });
    expect(entries.map((entry) => [entry.payload, entry.origin, entry.time])).toEqual(
      updates.map((update) => [update, 'test-source', 42]),
    );
    expect(Y.equalSnapshots(Y.snapshot(ydoc), Y.snapshot(docOf(result.state)))).toBe(true);
    expect(await verifyImport(log, 'd', result.state)).toBeUndefined();
  });

  it('reports a log that differs from the source, from the checkpoint or from the entries', async () => {
    const { updates } = updatesOf(6);
    const log = new MemoryUpdateLog();
    const result = await importDocument(options(log, updates));
    // An entry after the import: the loaded state and the replayed state both differ.
    const extra = updatesOf(1).updates[0] as Uint8Array;
    await log.append('d', [{ kind: 'update', time: 1, origin: 'x', flags: 0, payload: extra }]);
    expect(await verifyImport(log, 'd', result.state)).toMatch(
      /loaded from the log .* differs from the source/,
    );

    // Entries missing one update while the checkpoint is whole: only the replay shows it.
    const partial = new MemoryUpdateLog();
    await importDocument({ ...options(partial, updates.slice(0, -1)), checkpoint: false });
    await partial.storeCheckpoint('d', {
      kind: 'checkpoint',
      seq: updates.length - 1,
      time: 1,
      origin: 'x',
      flags: 0,
      payload: result.state,
    });
    expect(await verifyImport(partial, 'd', result.state)).toMatch(/replayed from its entries differs/);
  });

  it('refuses a target that has the document, and a source update that is not a Yjs update', async () => {
    const { updates } = updatesOf(3);
    const log = new MemoryUpdateLog();
    await importDocument(options(log, updates));
    await expect(importDocument(options(log, updates))).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_EXISTS,
    });
    const broken = [...updates, new Uint8Array(12).fill(0xff)];
    await expect(importDocument(options(new MemoryUpdateLog(), broken))).rejects.toMatchObject({
      code: ErrorCode.INVALID_UPDATE,
      message: `update ${updates.length} is not a Yjs update`,
    });
  });
});

function docOf(state: Uint8Array): Y.Doc {
  const ydoc = new Y.Doc();
  Y.applyUpdate(ydoc, state);
  return ydoc;
}
