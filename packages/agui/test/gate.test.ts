/**
 * The gate, fuzzed over the WebSocket path: valid updates mutated and truncated, updates Yjs throws
 * on part-way, content with no JSON form, sent as an update and as sync step 2, while an SSE stream
 * (`/events`) and an AG-UI run (`/agui`) are open on the same document. After every case the server still serves, a refused case changed
 * nothing (document, log, seq), and at the end reloading from the log equals the live state and
 * the stream's patches fold to it. And every SSE label names the state it was folded to, across
 * two nodes.
 */

import {
  Engine,
  type Json,
  MemorySyncBus,
  MemoryUpdateLog,
  type SyncBus,
  type UpdateLog,
} from '@ystate/core';
import { fuzzRuns } from '@ystate/core/testing';
import { createServer } from '@ystate/server';
import fc from 'fast-check';
import { applyPatch, deepClone } from 'fast-json-patch';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { aguiRoutes } from '../src/index.js';

interface TestServer {
  engine: Engine;
  log: UpdateLog;
  http: string;
  ws: string;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real `@ystate/server` with the AG-UI routes, over a new engine. */
async function startServer(options: { log?: UpdateLog; bus?: SyncBus } = {}): Promise<TestServer> {
  const log = options.log ?? new MemoryUpdateLog();
  const engine = new Engine(options.bus ? { log, bus: options.bus } : { log });
  const server = createServer({ engine, routes: aguiRoutes(engine), logger: pino({ level: 'silent' }) });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    await server.close();
    await engine.close().catch(() => {});
  });
  return { engine, log, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

/** y-websocket messages: sync (0) with step 1 (0), step 2 (1) or update (2). */
function syncMessage(kind: 0 | 1 | 2, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, kind);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}
const encodeUpdate = (update: Uint8Array) => syncMessage(2, update);
const encodeSyncStep2 = (update: Uint8Array) => syncMessage(1, update);

/** A raw y-websocket connection: send frames, and ask for sync step 2 to know the earlier ones were handled. */
interface RawClient {
  ws: WebSocket;
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  send(bytes: Uint8Array): void;
  roundTrip(stateVector: Uint8Array): Promise<void>;
}

function rawClient(url: string): RawClient {
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  const answers: (() => void)[] = [];
  ws.on('message', (data: Buffer) => {
    // Sync step 2 (0, 1, …) answers a step 1.
    if (data[0] === 0 && data[1] === 1) answers.shift()?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code) => reject(new Error(`closed with ${code} before opening`)));
  });
  opened.catch(() => undefined);
  cleanups.push(async () => ws.terminate());
  return {
    ws,
    opened,
    closed,
    // A frame sent while the server closes the connection is simply not delivered.
    send: (bytes) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
    },
    roundTrip: (stateVector) =>
      new Promise<void>((resolve) => {
        answers.push(resolve);
        if (ws.readyState === WebSocket.OPEN) ws.send(syncMessage(0, stateVector));
      }),
  };
}

const DOC = 'fuzz';
/** Connections kept open ahead of need (opening one per refused case is most of the fuzzer's time). */
const SPARES = 8;
/** Cases per CI run on Node 20 (issue 13: at least 10,000), and per document. */
const FUZZ_CASES = 10_000;
const SEGMENT_CASES = 2_000;

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
  /**
   * An update made on a copy of the honest state, as the same client (one client id, as a real
   * editor has): the copy never diverges the writer, and a refused update's clocks are used again.
   */
  update(write: (map: Y.Map<unknown>) => void): Uint8Array {
    const copy = new Y.Doc();
    copy.clientID = this.doc.clientID;
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

async function snapshot(
  server: TestServer,
  docId = DOC,
): Promise<{ json: Json | undefined; head: number; seq: number }> {
  return {
    json: await server.engine.get(docId),
    head: await server.log.head(docId),
    seq: server.engine.seqOf(docId) ?? 0,
  };
}

/** Follows `/events` and folds its patches, as an AG-UI client would, reporting each labelled state. */
function follow(
  server: TestServer,
  onLabel: (seq: number, state: Json) => void = () => {},
  via: 'events' | 'agui' = 'events',
  docId = DOC,
): { state: () => Json; stop: () => void } {
  const controller = new AbortController();
  let state: Json = {};
  void (async () => {
    // `/agui` is an AG-UI run that streams the document's state until it has been idle this long.
    const run = {
      threadId: 'fuzz',
      runId: 'watch',
      state: {},
      messages: [],
      tools: [],
      context: [],
      forwardedProps: { ystate: { idleMs: 600_000 } },
    };
    const response =
      via === 'events'
        ? await fetch(`${server.http}/api/docs/${docId}/events`, { signal: controller.signal })
        : await fetch(`${server.http}/api/docs/${docId}/agui`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
            body: JSON.stringify(run),
            signal: controller.signal,
          });
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
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
        const event = JSON.parse(data) as {
          type: string;
          snapshot?: Json;
          delta?: unknown[];
          metadata?: { ystate?: { seq?: number } };
        };
        if (event.type === 'STATE_SNAPSHOT') state = event.snapshot as Json;
        else if (event.type === 'STATE_DELTA')
          state = applyPatch(state, deepClone(event.delta)).newDocument as Json;
        else continue;
        const seq = event.metadata?.ystate?.seq;
        if (seq !== undefined) onLabel(seq, state);
      }
    }
  })().catch(() => {});
  return { state: () => state, stop: () => controller.abort() };
}

describe('the gate, fuzzed over the WebSocket path', () => {
  it('refused updates change nothing, the server keeps serving, and reload equals live', async () => {
    const server = await startServer();
    let refused = 0;
    // The cases go to a fresh document every SEGMENT_CASES (each segment its own seeded cases), so
    // a case's cost does not grow with every case before it; each segment ends with the checks.
    const segments = Math.ceil(fuzzRuns(FUZZ_CASES) / SEGMENT_CASES);
    for (let segment = 0; segment < segments; segment++) {
      const docId = `${DOC}-${segment}`;
      const writer = new Writer();
      const stream = follow(server, () => {}, 'events', docId);
      const run = follow(server, () => {}, 'agui', docId);
      let raw: RawClient | undefined;
      const spares: RawClient[] = [];
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const bytes = bytesFor(c, writer);
          const before = await snapshot(server, docId);
          if (raw === undefined) {
            // A refused case closes its connection: the next one is taken from spares opened meanwhile.
            while (spares.length < SPARES) spares.push(rawClient(`${server.ws}/${docId}`));
            raw = spares.shift() as RawClient;
            await raw.opened;
          }
          const client = raw;
          client.send(frame(c, bytes));
          const outcome = await Promise.race([
            client.closed,
            client.roundTrip(Y.encodeStateVector(writer.doc)).then(() => 'open' as const),
          ]);
          if (outcome === 'open') {
            await server.engine.flush();
            // Accepted: the honest writer takes what the server took. An update that adds nothing
            // the server has not (a flipped byte in a struct it holds) is skipped there, unapplied:
            // Yjs may not apply it elsewhere, and the server must not have changed.
            try {
              Y.applyUpdate(writer.doc, bytes);
            } catch {
              expect(await snapshot(server, docId)).toEqual(before);
            }
            return;
          }
          raw = undefined;
          refused++;
          expect([4400, 4413]).toContain(outcome.code);
          expect(await snapshot(server, docId)).toEqual(before);
        }),
        {
          numRuns: Math.min(SEGMENT_CASES, fuzzRuns(FUZZ_CASES) - segment * SEGMENT_CASES),
          seed: 7 + segment,
        },
      );
      raw?.ws.terminate();
      for (const spare of spares) spare.ws.terminate();
      await server.engine.flush();
      const live = await server.engine.get(docId);
      const fresh = new Engine({ log: server.log });
      expect(await fresh.get(docId)).toEqual(live);
      await fresh.close();
      expect(JSON.parse(JSON.stringify(stream.state()))).toEqual(live);
      expect(JSON.parse(JSON.stringify(run.state()))).toEqual(live);
      run.stop();
      stream.stop();
    }
    expect(refused).toBeGreaterThan(0);
  }, 1_800_000);

  it('two nodes: every SSE STATE_DELTA is labelled with a seq whose rebuilt state is what the stream folded to', async () => {
    const log = new MemoryUpdateLog();
    const bus = new MemorySyncBus();
    const a = await startServer({ log, bus });
    const b = await startServer({ log, bus: bus.peer() });
    const patch = (server: TestServer, ops: unknown) =>
      fetch(`${server.http}/api/docs/${DOC}/state`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json-patch+json' },
        body: JSON.stringify(ops),
      }).then((response) => response.json());
    await patch(a, [{ op: 'add', path: '/n', value: {} }]);
    const labelled: { seq: number; state: Json }[] = [];
    let target = Number.POSITIVE_INFINITY;
    let reached: (() => void) | undefined;
    const stream = follow(a, (seq, state) => {
      labelled.push({ seq, state: deepClone(state) });
      if (seq >= target) reached?.();
    });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++)
      writes.push(patch(i % 2 ? a : b, [{ op: 'add', path: `/n/k${i}`, value: i }]));
    await Promise.all(writes);
    await a.engine.flush();
    const head = await log.head(DOC);
    if ((labelled[labelled.length - 1]?.seq ?? 0) < head) {
      await new Promise<void>((resolve) => {
        reached = resolve;
        target = head;
      });
    }
    stream.stop();
    expect(labelled.length).toBeGreaterThan(10);
    for (const { seq, state } of labelled) {
      expect(state, `label ${seq}`).toEqual((await a.engine.stateAt(DOC, { seq })).json);
    }
  });

  it('finding 1: a bigint from a writer is refused (4400 INVALID_VALUE) while /events is open; the node serves on', async () => {
    const server = await startServer();
    const stream = follow(server);
    const writer = new Writer();
    const raw = rawClient(`${server.ws}/${DOC}`);
    await raw.opened;
    raw.send(encodeUpdate(writer.update((map) => map.set('n', 1n))));
    expect(await raw.closed).toEqual({ code: 4400, reason: 'INVALID_VALUE' });
    expect(await server.log.head(DOC)).toBe(0);
    const state = await fetch(`${server.http}/api/docs/${DOC}/state`);
    expect(state.status).toBe(200);
    expect(await state.json()).toEqual({});
    const next = await fetch(`${server.http}/api/docs/${DOC}/state`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/ok', value: true }]),
    });
    expect(next.status).toBe(200);
    stream.stop();
  });

  it('finding 1: a log written before the gate that holds a bigint opens, shows it by the documented rule, and takes writes', async () => {
    const log = new MemoryUpdateLog();
    const legacy = new Y.Doc();
    legacy.getMap('state').set('n', 1234567890123456789n);
    await log.append(DOC, [
      { kind: 'update', time: Date.now(), origin: 'old', flags: 0, payload: Y.encodeStateAsUpdate(legacy) },
    ]);
    const server = await startServer({ log });
    const folded: Json[] = [];
    const stream = follow(server, (_seq, state) => folded.push(deepClone(state)));
    const state = await fetch(`${server.http}/api/docs/${DOC}/state`);
    expect(state.status).toBe(200);
    expect(await state.json()).toEqual({ n: '1234567890123456789' });
    const history = await fetch(`${server.http}/api/docs/${DOC}/history`);
    expect(history.status).toBe(200);
    expect(JSON.parse(await history.text())).toHaveLength(1);
    const next = await fetch(`${server.http}/api/docs/${DOC}/state`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/ok', value: true }]),
    });
    expect(next.status).toBe(200);
    await server.engine.flush();
    expect(await server.engine.get(DOC)).toEqual({ n: '1234567890123456789', ok: true });
    stream.stop();
  });
});
