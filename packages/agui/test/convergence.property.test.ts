/**
 * Property: random concurrent streams of agent deltas (each against a stale base seq), client
 * replicas sending Yjs updates (what y-websocket clients do), direct engine writes, and
 * `engine.applyPatch` calls (what HTTP PATCH does) — all participants converge, and every event
 * a document stream emits, applied with fast-json-patch to the consumer's previous state, gives
 * the document's JSON (or subtree) at the seq the event names. Streams of both kinds take part:
 * `documentEvents`' own, and the shared ones the HTTP routes use (read as the SSE bytes they send).
 */

import { type BaseEvent, EventType } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import { type Engine, isYStateError, type Json, type PatchOperation, StateDocument } from '@ystate/core';
import { fuzzRuns } from '@ystate/core/testing';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentStream } from '../src/document-stream.js';
import { applyAgentEvents, documentEvents } from '../src/index.js';
import { encodeEvent } from '../src/shared-events.js';
import { createEngine, jsonAt, seqOfEvent } from './helpers.js';

const { applyPatch, deepClone } = fjp;
const DOC = 'prop/doc';

/** A small deterministic random source from a seed (so fast-check can replay a failure). */
function rng(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** Random edits that are valid against `json` (as the edit's author sees it). */
function randomOps(json: Json, seed: number, count: number): PatchOperation[] {
  const pick = rng(seed);
  const state = deepClone(json) as { todos: { t: string; done: boolean }[]; meta: Record<string, Json> };
  const ops: PatchOperation[] = [];
  for (let i = 0; i < count; i++) {
    const todos = state.todos;
    const kind = pick(6);
    let op: PatchOperation;
    if (kind <= 1 || todos.length === 0) {
      op = {
        op: 'add',
        path: `/todos/${pick(todos.length + 1)}`,
        value: { t: `n${seed % 1000}-${i}`, done: false },
      };
    } else if (kind === 2) {
      op = { op: 'remove', path: `/todos/${pick(todos.length)}` };
    } else if (kind === 3) {
      op = { op: 'replace', path: `/todos/${pick(todos.length)}/done`, value: pick(2) === 1 };
    } else if (kind === 4) {
      op = { op: 'add', path: `/meta/k${pick(4)}`, value: pick(100) };
    } else {
      const keys = Object.keys(state.meta).filter((k) => k.startsWith('k'));
      const key = keys[pick(keys.length)];
      op =
        key === undefined
          ? { op: 'add', path: '/meta/k0', value: 0 }
          : { op: 'remove', path: `/meta/${key}` };
    }
    // A copy: fast-json-patch inserts values by reference.
    applyPatch(state, [deepClone(op) as fjp.Operation]);
    ops.push(op);
  }
  return ops;
}

type Command =
  | { kind: 'agent'; seed: number; deltas: number; staleness: number }
  | { kind: 'client'; seed: number; client: number; sync: boolean }
  | { kind: 'patch'; seed: number }
  | { kind: 'write'; seed: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('agent' as const),
    seed: fc.integer(),
    deltas: fc.integer({ min: 1, max: 3 }),
    staleness: fc.nat({ max: 6 }),
  }),
  fc.record({
    kind: fc.constant('client' as const),
    seed: fc.integer(),
    client: fc.nat({ max: 2 }),
    sync: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('patch' as const), seed: fc.integer() }),
  fc.record({ kind: fc.constant('write' as const), seed: fc.integer() }),
);

/**
 * Bursts of commands started together; a burst is awaited before the next starts, and then the
 * event loop may turn (streams deliver a batch) or not (the next burst joins the same batch).
 */
const scenario = fc.array(
  fc.record({ commands: fc.array(command, { minLength: 1, maxLength: 5 }), turn: fc.boolean() }),
  { minLength: 1, maxLength: 10 },
);

type Burst = { commands: Command[]; turn: boolean };

interface Consumer {
  path: string;
  slow: boolean;
  /** Each event's seq and the consumer's state after applying it. */
  states: { seq: number; state: Json; type: string }[];
  reached(seq: number): Promise<void>;
  stop(): Promise<void>;
}

const sse = new EventEncoder();
const utf8 = new TextDecoder();

/** A shared stream (as the HTTP routes open it), each event read back from the SSE bytes it sends. */
async function* sharedEvents(
  engine: Engine,
  options: { path: string; signal: AbortSignal; maxQueue?: number },
): AsyncGenerator<BaseEvent> {
  const stream = await DocumentStream.open(engine, DOC, { ...options, shareValues: true });
  try {
    for (;;) {
      const event = await stream.next();
      if (event === undefined) return;
      const frame = utf8.decode(encodeEvent(event, sse, false));
      const id = `id: ${(event.metadata as { ystate: { seq: number } }).ystate.seq}\n`;
      expect(frame).toBe(id + sse.encodeSSE(event));
      yield JSON.parse(frame.slice(id.length + 'data: '.length)) as BaseEvent;
    }
  } finally {
    stream.close();
  }
}

function consume(engine: Engine, path: string, maxQueue?: number, shared = false): Consumer {
  const controller = new AbortController();
  const states: Consumer['states'] = [];
  const waiters: { seq: number; resolve: () => void }[] = [];
  let failure: unknown;
  const options = { path, signal: controller.signal, ...(maxQueue === undefined ? {} : { maxQueue }) };
  const events = shared ? sharedEvents(engine, options) : documentEvents(engine, DOC, options);
  const loop = (async () => {
    let state: Json = null;
    let count = 0;
    for await (const event of events) {
      state = applyEvent(state, event);
      const seq = seqOfEvent(event);
      states.push({ seq, state: deepClone(state) as Json, type: event.type });
      // A slow consumer: its bounded queue overflows now and then.
      if (maxQueue !== undefined && ++count % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 4));
      for (const waiter of waiters.filter((w) => w.seq <= seq)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    path,
    slow: maxQueue !== undefined,
    states,
    reached: (seq) => {
      if ((states.at(-1)?.seq ?? 0) >= seq) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ seq, resolve }));
    },
    stop: async () => {
      controller.abort();
      await loop;
      if (failure) throw failure;
    },
  };
}

/** What @ag-ui/client does with a state event: replace, or apply the patch all or nothing. */
function applyEvent(state: Json, event: BaseEvent): Json {
  if (event.type === EventType.STATE_SNAPSHOT) return event.snapshot as Json;
  if (event.type === EventType.STATE_DELTA) {
    return applyPatch(state, event.delta as fjp.Operation[], true, false).newDocument as Json;
  }
  throw new Error(`unexpected ${event.type}`);
}

async function runScenario(bursts: Burst[]): Promise<{ deltas: number; snapshots: number }> {
  const engine = createEngine();
  const seqs: number[] = [];
  try {
    const first = await engine.write(DOC, (tx) =>
      tx.set('', {
        // Long enough that a small delta beats a snapshot of each subtree.
        todos: [0, 1, 2].map((i) => ({ t: `start-${i}-${'x'.repeat(80)}`, done: false })),
        meta: { k0: 0, note: 'n'.repeat(200) },
        pad: 'p'.repeat(400),
      }),
    );
    seqs.push(first.seq);
    const consumers = [
      consume(engine, ''),
      consume(engine, '/todos'),
      consume(engine, '/meta'),
      consume(engine, '', 1),
      // Shared streams: two of the same subtree (one slow) get the same event objects.
      consume(engine, '', undefined, true),
      consume(engine, '', 1, true),
      consume(engine, '/todos', undefined, true),
    ];
    const live = await engine.open(DOC);
    const clients = [0, 1, 2].map(() => {
      const client = new StateDocument(DOC);
      Y.applyUpdate(client.ydoc, Y.encodeStateAsUpdate(live.ydoc));
      return client;
    });
    const pull = (client: StateDocument) =>
      Y.applyUpdate(client.ydoc, Y.encodeStateAsUpdate(live.ydoc, Y.encodeStateVector(client.ydoc)));

    const run = async (cmd: Command): Promise<void> => {
      switch (cmd.kind) {
        case 'agent': {
          const baseSeq = seqs[Math.max(0, seqs.length - 1 - cmd.staleness)] as number;
          const base = (await engine.stateAt(DOC, { seq: baseSeq })).json;
          // Each delta is written against the agent's own view: its base plus its earlier deltas.
          let view = base as Json;
          const deltas: PatchOperation[][] = [];
          for (let i = 0; i < cmd.deltas; i++) {
            const ops = randomOps(view, cmd.seed + i, 1 + (Math.abs(cmd.seed + i) % 2));
            view = applyPatch(deepClone(view), ops as fjp.Operation[]).newDocument as Json;
            deltas.push(ops);
          }
          const result = await applyAgentEvents(
            engine,
            DOC,
            [
              { type: EventType.RUN_STARTED, threadId: 't', runId: `r${cmd.seed}` },
              ...deltas.map((delta) => ({ type: EventType.STATE_DELTA, delta })),
              { type: EventType.RUN_FINISHED, threadId: 't', runId: `r${cmd.seed}` },
            ],
            { baseSeq },
          );
          seqs.push(result.seq);
          return;
        }
        case 'client': {
          const client = clients[cmd.client] as StateDocument;
          if (cmd.sync) pull(client);
          const before = Y.encodeStateVector(client.ydoc);
          client.applyPatch(randomOps(client.toJSON(), cmd.seed, 1 + (Math.abs(cmd.seed) % 3)));
          const { seq } = await engine.receive(DOC, Y.encodeStateAsUpdate(client.ydoc, before), {
            origin: 'client',
          });
          seqs.push(seq);
          return;
        }
        case 'patch': {
          // Computed on the state now; a concurrent change may make it fail, as an HTTP PATCH would.
          const ops = randomOps(live.toJSON(), cmd.seed, 1 + (Math.abs(cmd.seed) % 2));
          try {
            seqs.push((await engine.applyPatch(DOC, ops, { origin: 'http' })).seq);
          } catch (error) {
            if (!isYStateError(error)) throw error;
          }
          return;
        }
        case 'write': {
          // Decided inside the write, on the state it writes to: never fails.
          const { seq } = await engine.write(DOC, (tx) => {
            const json = { todos: tx.get('/todos'), meta: tx.get('/meta') } as Json;
            for (const op of randomOps(json, cmd.seed, 1)) tx.apply(op);
          });
          seqs.push(seq);
          return;
        }
      }
    };

    for (const burst of bursts) {
      await withTimeout(Promise.all(burst.commands.map(run)), () => `burst stuck: ${JSON.stringify(burst)}`);
      seqs.sort((a, b) => a - b);
      if (burst.turn) await new Promise((resolve) => setTimeout(resolve, 1));
    }

    // Converge: clients pull; every consumer reaches a last write that touches every subtree.
    const { seq: last } = await engine.write(DOC, (tx) => {
      tx.set('/end', true);
      tx.set('/meta/end', true);
      tx.push('/todos', { t: 'end', done: true });
    });
    await engine.flush();
    for (const client of clients) pull(client);
    await withTimeout(
      Promise.all(consumers.map((c) => c.reached(last))),
      () =>
        `consumers stuck: ${consumers.map((c) => `${c.path || '/'}@${c.states.at(-1)?.seq}`).join(', ')} (last ${last})`,
    );
    const final = live.toJSON();
    engine.release(DOC);
    expect(await engine.get(DOC)).toEqual(final);
    for (const client of clients) expect(client.toJSON()).toEqual(final);
    for (const consumer of consumers) await consumer.stop();

    const atSeq = new Map<number, Json>();
    let deltas = 0;
    let snapshots = 0;
    for (const consumer of consumers) {
      expect(consumer.states.at(-1)?.state).toEqual(jsonAt(final, consumer.path) ?? null);
      for (const [i, { seq, state, type }] of consumer.states.entries()) {
        if (!atSeq.has(seq)) atSeq.set(seq, (await engine.stateAt(DOC, { seq })).json);
        expect(state, `${consumer.path} at seq ${seq} (${type})`).toEqual(
          jsonAt(atSeq.get(seq) as Json, consumer.path) ?? null,
        );
        if (consumer.slow) continue;
        if (type === EventType.STATE_DELTA) deltas++;
        else if (i > 0) snapshots++;
      }
    }
    return { deltas, snapshots };
  } finally {
    await engine.close();
  }
}

async function withTimeout<T>(promise: Promise<T>, explain: () => string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(explain())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('AG-UI streams under concurrent agents, clients and PATCHes (property)', () => {
  it('every participant converges and every emitted event gives the document at its seq', async () => {
    let deltas = 0;
    let snapshots = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (bursts) => {
        const counts = await runScenario(bursts);
        deltas += counts.deltas;
        snapshots += counts.snapshots;
      }),
      { numRuns: fuzzRuns(40) },
    );
    // The property exercised deltas, not only snapshots (after the first one of each stream).
    expect(deltas).toBeGreaterThan(snapshots);
  });
});
