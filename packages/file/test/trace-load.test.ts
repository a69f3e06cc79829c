import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collaborativeText, Engine, type EntryInput, StateDocument } from '@ystate/core';
import { loadSequentialTrace } from '@ystate/core/testing/traces';
import { describe, expect, it } from 'vitest';
import { storeFixture } from './helpers.js';

const store = storeFixture();

describe('the automerge-paper trace in the file store', () => {
  it('written as one entry per edit, then loaded cold: its text equals endContent, without long event-loop blocks', async () => {
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
    const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const loaded = await engine.open('paper');
    delay.disable();
    expect(loaded.get('/text')).toBe(trace.endContent);
    // Loading applies entries in chunks and yields between them (the load time is in bench/).
    expect(delay.max / 1e6).toBeLessThan(100);
    await engine.close();
  });
});
