import { collaborativeText, Engine, type EntryInput, StateDocument, type UpdateLog } from '@ystate/core';
import { worstEventLoopBlock } from '@ystate/core/testing/event-loop';
import { loadSequentialTrace } from '@ystate/core/testing/traces';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { uniquePrefix, useRedisServer } from './helpers.js';

const server = useRedisServer();
let store: RedisStore | undefined;
afterAll(async () => {
  await store?.close();
});

describe('the automerge-paper trace in Redis', () => {
  it('written one edit per entry with pipelined appends, then loaded cold: text equals endContent, no event-loop block of 50 ms', async () => {
    const prefix = uniquePrefix('trace');
    store = createRedisStore({ redis: { host: server().host, port: server().port }, prefix });
    const { log } = store;
    const endContent = await writeTrace(log);
    expect(await log.head('paper')).toBe(259_778 + 1);

    // Loading reads one chunk per round trip and yields between chunks. Each load is measured
    // cold on a fresh engine (up to three times: see worstEventLoopBlock).
    const { best, measured } = await worstEventLoopBlock(
      async () => {
        const engine = new Engine({ log, bus: store!.bus, idleTimeoutMs: Number.POSITIVE_INFINITY });
        const loaded = await engine.open('paper');
        expect(loaded.get('/text')).toBe(endContent);
        await engine.close();
      },
      { boundMs: 50 },
    );
    expect(best, `worst block per load: ${measured.map((ms) => ms.toFixed(1)).join(', ')} ms`).toBeLessThan(
      50,
    );
  }, 120_000);
});

/**
 * Writes the trace as one entry per edit, in batches of 1,000 all in flight at once (ioredis sends
 * them down one pipeline); returns the expected end text. Nothing of the write is kept, so the
 * garbage it leaves is not mistaken for a slow load.
 */
async function writeTrace(log: UpdateLog): Promise<string> {
  const trace = loadSequentialTrace('automerge-paper');
  const doc = new StateDocument('paper');
  let batch: EntryInput[] = [];
  const appends: Promise<void>[] = [];
  const flush = () => {
    appends.push(log.append('paper', batch).then(() => undefined));
    batch = [];
  };
  doc.ydoc.on('update', (payload: Uint8Array) => {
    batch.push({ kind: 'update', time: Date.now(), origin: 'author', flags: 0, payload });
    if (batch.length === 1000) flush();
  });
  doc.set('/text', collaborativeText(trace.startContent));
  for (const txn of trace.txns)
    for (const [pos, del, text] of txn.patches) doc.spliceText('/text', pos, del, text);
  flush();
  await Promise.all(appends);
  doc.destroy();
  return trace.endContent;
}
