import { collaborativeText, Engine, type EntryInput, StateDocument } from '@ystate/core';
import { worstEventLoopBlock } from '@ystate/core/testing/event-loop';
import { loadSequentialTrace } from '@ystate/core/testing/traces';
import { describe, expect, it } from 'vitest';
import { storeFixture } from './helpers.js';

const store = storeFixture();

describe('the automerge-paper trace in the file store', () => {
  it('written as one entry per edit, then loaded cold: its text equals endContent, never blocking the event loop for 50 ms', async () => {
    const trace = loadSequentialTrace('automerge-paper');
    const dir = await store.dir();
    const writer = await store.open({ dir, fsync: 'never' });
    const doc = new StateDocument('paper');
    let batch: EntryInput[] = [];
    const appends: Promise<unknown>[] = [];
    doc.ydoc.on('update', (payload: Uint8Array) => {
      batch.push({ kind: 'update', time: Date.now(), origin: 'author', flags: 0, payload });
      if (batch.length === 1000) {
        appends.push(writer.append('paper', batch));
        batch = [];
      }
    });
    doc.set('/text', collaborativeText(trace.startContent));
    for (const txn of trace.txns)
      for (const [pos, del, text] of txn.patches) doc.spliceText('/text', pos, del, text);
    appends.push(writer.append('paper', batch));
    await Promise.all(appends);
    expect(await writer.head('paper')).toBe(259_778 + 1);
    await writer.close();

    const log = await store.open({ dir });
    // Each load is cold on a fresh engine (up to three times: see worstEventLoopBlock).
    const { best, measured } = await worstEventLoopBlock(
      async () => {
        const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
        const loaded = await engine.open('paper');
        expect(loaded.get('/text')).toBe(trace.endContent);
        await engine.close();
      },
      { boundMs: 50 },
    );
    // Loading applies entries in chunks and yields between them (the load time is in bench/).
    expect(best, `worst block per load: ${measured.map((ms) => ms.toFixed(1)).join(', ')} ms`).toBeLessThan(
      50,
    );
  });
});
