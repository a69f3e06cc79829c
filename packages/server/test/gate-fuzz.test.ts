/**
 * The gate, fuzzed over the WebSocket path: valid updates mutated and truncated, updates Yjs throws
 * on part-way, content with no JSON form, sent as an update and as sync step 2, while an SSE stream
 * is open on the same document. After every case the server still serves, a refused case changed
 * nothing (document, log, seq), and at the end reloading from the log equals the live state and
 * the stream's patches fold to it.
 */

import { Engine, type Json } from '@ystate/core';
import fc from 'fast-check';
import { applyPatch, deepClone } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeSyncStep2, encodeUpdate } from '../src/protocol.js';
import { type RawClient, rawClient, startServer, type TestServer } from './helpers.js';

const DOC = 'fuzz';

/** A hostile value a client can put in a map: none has a JSON form. */
const hostile: (() => unknown)[] = [
  () => 1n,
  () => undefined,
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => new Uint8Array([1, 2, 3]),
  () => new Y.Doc(),
  () => ({ nested: [1, 2n] }),
];

type Case =
  | { kind: 'valid'; key: number; value: string; as: 'update' | 'step2' }
  | { kind: 'flip'; key: number; at: number; byte: number; as: 'update' | 'step2' }
  | { kind: 'truncate'; key: number; at: number; as: 'update' | 'step2' }
  | { kind: 'hostile'; key: number; which: number; as: 'update' | 'step2' };

const as = fc.constantFrom<'update' | 'step2'>('update', 'step2');
const caseArb: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), key: fc.nat(30), value: fc.string({ maxLength: 8 }), as }),
  fc.record({ kind: fc.constant('flip' as const), key: fc.nat(30), at: fc.nat(), byte: fc.nat(255), as }),
  fc.record({ kind: fc.constant('truncate' as const), key: fc.nat(30), at: fc.nat(), as }),
  fc.record({
    kind: fc.constant('hostile' as const),
    key: fc.nat(30),
    which: fc.nat(hostile.length - 1),
    as,
  }),
);

/** An honest client: the state the server acknowledged, to write the next valid update against. */
class Writer {
  readonly doc = new Y.Doc();
  /** An update made on a copy of the honest state (the copy never diverges the writer). */
  update(write: (map: Y.Map<unknown>) => void): Uint8Array {
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(this.doc));
    const before = Y.encodeStateVector(copy);
    const map = copy.getMap('state');
    write(map);
    return Y.encodeStateAsUpdate(copy, before);
  }
}

function bytesFor(c: Case, writer: Writer): Uint8Array {
  const key = `k${c.key}`;
  switch (c.kind) {
    case 'valid':
      return writer.update((map) => map.set(key, c.value));
    case 'flip': {
      // A new text with an edit inside: flipped bytes often still decode, then make Yjs throw part-way.
      const bytes = writer.update((map) => {
        const text = new Y.Text('abc');
        map.set(key, text);
        text.insert(1, 'xy');
        text.delete(0, 1);
      });
      const copy = new Uint8Array(bytes);
      copy[c.at % copy.length] = c.byte;
      return copy;
    }
    case 'truncate': {
      const bytes = writer.update((map) => map.set(key, [1, 2, 3]));
      return bytes.slice(0, c.at % bytes.length);
    }
    case 'hostile':
      return writer.update((map) => map.set(key, (hostile[c.which] as () => unknown)()));
  }
}

function frame(c: Case, bytes: Uint8Array): Uint8Array {
  return c.as === 'update' ? encodeUpdate(bytes) : encodeSyncStep2(bytes);
}

async function snapshot(server: TestServer): Promise<{ json: Json | undefined; head: number; seq: number }> {
  return {
    json: await server.engine.get(DOC),
    head: await server.log.head(DOC),
    seq: server.engine.seqOf(DOC) ?? 0,
  };
}

/** Follows `/events` and folds its patches, as an AG-UI client would. */
function follow(server: TestServer): { state: () => Json; stop: () => void } {
  const controller = new AbortController();
  let state: Json = {};
  void (async () => {
    const response = await fetch(`${server.http}/api/docs/${DOC}/events`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('');
        if (!data) continue;
        const event = JSON.parse(data) as { type: string; snapshot?: Json; delta?: unknown[] };
        if (event.type === 'STATE_SNAPSHOT') state = event.snapshot as Json;
        if (event.type === 'STATE_DELTA')
          state = applyPatch(state, deepClone(event.delta)).newDocument as Json;
      }
    }
  })().catch(() => {});
  return { state: () => state, stop: () => controller.abort() };
}

describe('the gate, fuzzed over the WebSocket path', () => {
  it('refused updates change nothing, the server keeps serving, and reload equals live', async () => {
    const server = await startServer();
    const writer = new Writer();
    const stream = follow(server);
    let raw: RawClient | undefined;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const bytes = bytesFor(c, writer);
        const before = await snapshot(server);
        if (raw === undefined) {
          raw = rawClient(`${server.ws}/${DOC}`);
          await raw.opened;
        }
        const client = raw;
        client.send(frame(c, bytes));
        const outcome = await Promise.race([client.closed, client.roundTrip().then(() => 'open' as const)]);
        if (outcome === 'open') {
          await server.engine.flush();
          // Accepted: the honest writer takes it too (it may add nothing new).
          try {
            Y.applyUpdate(writer.doc, bytes);
          } catch {
            // The server integrated it; an update it took is one Yjs can apply.
            throw new Error('the server took an update Yjs cannot apply');
          }
          return;
        }
        raw = undefined;
        refused++;
        expect([4400, 4413]).toContain(outcome.code);
        expect(await snapshot(server)).toEqual(before);
      }),
      { numRuns: Number(process.env.YSTATE_FUZZ_RUNS ?? 10_000), seed: 7 },
    );
    raw?.ws.terminate();
    expect(refused).toBeGreaterThan(0);
    await server.engine.flush();
    const live = await server.engine.get(DOC);
    const fresh = new Engine({ log: server.log });
    expect(await fresh.get(DOC)).toEqual(live);
    await fresh.close();
    expect(JSON.parse(JSON.stringify(stream.state()))).toEqual(live);
    stream.stop();
  }, 600_000);
});
