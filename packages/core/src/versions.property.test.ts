import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Engine } from './engine.js';
import { type Json, jsonEqual } from './json.js';
import { diffJson } from './json-diff.js';
import { MemoryUpdateLog } from './memory-log.js';
import { type DocumentWriter, StateDocument } from './state-document.js';
import { collaborativeText } from './y-value.js';

/**
 * Random histories with concurrent writers: engine writes under several origins; y-websocket
 * style clients (their own Y.Doc, synced now and then, sending raw updates); HTTP writers (a JSON
 * Patch made against the state they read, as `PATCH …/state` sends it); and agents (a JSON Patch
 * made against a stale state and applied at that base seq, as the AG-UI bridge merges a
 * `STATE_DELTA`). Every key has one
 * kind, so any writer's operation applies whatever it last saw: `s*` scalars, `o*` objects,
 * `l*` lists, `t*` collaborative texts. A prefix (`r`/`o` below) partitions keys between writers.
 */
type Op =
  | { kind: 'scalar'; key: number; value: Json }
  | { kind: 'field'; key: number; field: 'x' | 'y'; value: number }
  | { kind: 'push'; key: number; value: number }
  | { kind: 'removeItem'; key: number; at: number }
  | { kind: 'splice'; key: number; at: number; remove: number; text: string }
  | { kind: 'drop'; key: number; family: 's' | 'o' | 'l' | 't' };

const scalar = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom('a', 'b', true, null));
const key = fc.integer({ min: 0, max: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('scalar' as const), key, value: scalar }),
  fc.record({
    kind: fc.constant('field' as const),
    key,
    field: fc.constantFrom('x' as const, 'y' as const),
    value: fc.nat(9),
  }),
  fc.record({ kind: fc.constant('push' as const), key, value: fc.nat(9) }),
  fc.record({ kind: fc.constant('removeItem' as const), key, at: fc.nat(5) }),
  fc.record({
    kind: fc.constant('splice' as const),
    key,
    at: fc.nat(8),
    remove: fc.nat(3),
    text: fc.string({ unit: fc.constantFrom('x', 'y', 'z'), maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('drop' as const),
    key,
    family: fc.constantFrom('s' as const, 'o' as const, 'l' as const, 't' as const),
  }),
);

/** Applies an operation to keys named `${prefix}${family}${key}`, whatever the writer last saw there. */
function applyOp(tx: DocumentWriter, op: Op, prefix: string): void {
  const path = (family: string) => `/${prefix}${family}${op.key}`;
  switch (op.kind) {
    case 'scalar':
      tx.set(path('s'), op.value);
      return;
    case 'field':
      if (tx.get(path('o')) === undefined) tx.set(path('o'), { [op.field]: op.value });
      else tx.set(`${path('o')}/${op.field}`, op.value);
      return;
    case 'push':
      if (tx.get(path('l')) === undefined) tx.set(path('l'), [op.value]);
      else tx.push(path('l'), op.value);
      return;
    case 'removeItem': {
      const list = tx.get(path('l'));
      if (Array.isArray(list) && list.length > 0) tx.delete(`${path('l')}/${op.at % list.length}`);
      return;
    }
    case 'splice': {
      const text = tx.get(path('t'));
      if (typeof text !== 'string') {
        tx.set(path('t'), collaborativeText(op.text || 'abc'));
        return;
      }
      const at = op.at % (text.length + 1);
      tx.spliceText(path('t'), at, Math.min(op.remove, text.length - at), op.text);
      return;
    }
    case 'drop':
      if (tx.get(path(op.family)) !== undefined) tx.delete(path(op.family));
      return;
  }
}

/** A y-websocket style client: its own Y.Doc, synced with the server only when asked. */
class RawClient {
  readonly doc = new StateDocument('client');
  constructor(
    private readonly engine: Engine,
    readonly origin: string,
  ) {}
  async write(op: Op, prefix: string, sync: boolean): Promise<void> {
    if (sync) {
      const server = await this.engine.open('d');
      Y.applyUpdate(this.doc.ydoc, Y.encodeStateAsUpdate(server.ydoc, Y.encodeStateVector(this.doc.ydoc)));
      this.engine.release('d');
    }
    const before = Y.encodeStateVector(this.doc.ydoc);
    this.doc.batch((tx) => applyOp(tx, op, prefix));
    const update = Y.encodeStateAsUpdate(this.doc.ydoc, before);
    await this.engine.receive('d', update, { origin: this.origin });
  }
}

/**
 * A JSON Patch writer: reads the state at a seq (the head, or two entries before it: a stale
 * agent), makes the operation there, and sends the JSON Patch of it applied at that base seq.
 * Texts are only edited through their own writers (a patch carries whole strings).
 */
async function patchWrite(engine: Engine, op: Op, prefix: string, origin: string, stale: boolean) {
  const head = await engine.log.head('d');
  const baseSeq = stale ? Math.max(0, head - 2) : head;
  const doc = new StateDocument('patcher');
  try {
    Y.applyUpdate(doc.ydoc, (await engine.stateAt('d', { seq: baseSeq })).update);
    const before = doc.toJSON();
    const made: Op = op.kind === 'splice' ? { kind: 'scalar', key: op.key, value: op.text } : op;
    doc.batch((tx) => applyOp(tx, made, prefix));
    const patch = diffJson(before, doc.toJSON());
    if (patch.length > 0) await engine.applyPatch('d', patch, { origin, baseSeq });
  } finally {
    doc.destroy();
  }
}

type Step = { writer: 0 | 1 | 2 | 3 | 4 | 5; op: Op; sync: boolean };
const step: fc.Arbitrary<Step> = fc.record({
  writer: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const, 4 as const, 5 as const),
  op,
  sync: fc.boolean(),
});

/**
 * Writers 0 and 1 write through the engine (alice, bob); 2 and 3 are raw clients (ws-1, ws-2); 4
 * sends JSON Patches at the head (http), 5 at a stale base (an agent, agui:run-x).
 */
async function perform(
  engine: Engine,
  clients: RawClient[],
  s: Step,
  prefix: string,
  origin?: string,
): Promise<void> {
  if (s.writer < 2) {
    await engine.write('d', (tx) => applyOp(tx, s.op, prefix), {
      origin: origin ?? (s.writer === 0 ? 'alice' : 'bob'),
    });
    return;
  }
  if (s.writer >= 4) {
    await patchWrite(
      engine,
      s.op,
      prefix,
      origin ?? (s.writer === 4 ? 'http' : 'agui:run-x'),
      s.writer === 5,
    );
    return;
  }
  const client = clients[s.writer - 2] as RawClient;
  await client.write(s.op, prefix, s.sync);
}

function setup(): { engine: Engine; clients: RawClient[] } {
  // Frequent checkpoints: states and undo replays start from one in the middle of the history.
  const engine = new Engine({
    log: new MemoryUpdateLog(),
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    checkpointEvery: { entries: 4, sizeFraction: 0 },
  });
  return { engine, clients: [new RawClient(engine, 'ws-1'), new RawClient(engine, 'ws-2')] };
}

describe('versions: properties over random histories with concurrent writers', () => {
  it('revert(to = s) makes the JSON exactly stateAt(s), and a reload from the log agrees', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.nat(), async (steps, pick) => {
        const { engine, clients } = setup();
        try {
          for (const s of steps) await perform(engine, clients, s, '');
          const head = await engine.log.head('d');
          const target = pick % (head + 1);
          const expected = (await engine.stateAt('d', { seq: target })).json;
          const { seq } = await engine.revert('d', { seq: target }, { origin: 'reverter' });
          expect(seq).toBe(head + 1);
          expect(await engine.get('d')).toEqual(expected);
          expect((await engine.stateAt('d', { seq })).json).toEqual(expected);
          // History is kept: the state before the revert is still there.
          expect((await engine.diff('d', { seq: head }, { seq })).patch.length > 0).toBe(
            // Deep equality: key order is not part of the JSON.
            !jsonEqual((await engine.stateAt('d', { seq: head })).json, expected),
          );
        } finally {
          await engine.close();
          for (const client of clients) client.doc.destroy();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('undoing run R leaves what the other writers alone made (they wrote disjoint keys), and R’s keys as before R', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 8 }),
        fc.array(fc.record({ run: fc.boolean(), step }), { minLength: 1, maxLength: 25 }),
        async (seed, steps) => {
          const { engine, clients } = setup();
          // R's own raw client (an agent's fork, as the AG-UI bridge merges it), origin agui:R.
          const agent = new RawClient(engine, 'agui:R');
          try {
            for (const o of seed) await engine.write('d', (tx) => applyOp(tx, o, 'r'), { origin: 'seed' });
            const before = (await engine.stateAt('d', { seq: await engine.log.head('d') })).json;
            await engine.record(
              'd',
              { type: 'event', name: 'test.RUN_STARTED', path: '', data: { runId: 'R' } },
              { origin: 'agui:R' },
            );
            for (const { run, step: s } of steps) {
              if (!run) await perform(engine, clients, s, 'o');
              else if (s.writer < 2 || s.writer >= 4) await perform(engine, clients, s, 'r', 'agui:R');
              else await agent.write(s.op, 'r', s.sync);
            }
            await engine.record(
              'd',
              { type: 'event', name: 'test.RUN_FINISHED', path: '', data: { runId: 'R' } },
              { origin: 'agui:R' },
            );
            const head = (await engine.stateAt('d', { seq: await engine.log.head('d') })).json;
            const result = await engine.undo('d', { run: 'R' }, { origin: 'undoer' });
            expect(result.origin).toBe('agui:R');
            const expected = {
              ...pick(before, (k) => k.startsWith('r')),
              ...pick(head, (k) => k.startsWith('o')),
            };
            expect(await engine.get('d')).toEqual(expected);
            expect((await engine.stateAt('d', { seq: result.seq })).json).toEqual(expected);
          } finally {
            await engine.close();
            for (const client of [...clients, agent]) client.doc.destroy();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

function pick(json: Record<string, Json>, keep: (key: string) => boolean): Record<string, Json> {
  return Object.fromEntries(Object.entries(json).filter(([k]) => keep(k)));
}
