import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addsNothing, assertUpdate, integratesCleanly } from './update-check.js';

/** An edit one replica makes: text, map and array operations, some on nested types. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('type' as const), at: fc.nat(), text: fc.string({ maxLength: 5 }) }),
  fc.record({ op: fc.constant('erase' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.integer() }),
  fc.record({ op: fc.constant('nest' as const), key: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ op: fc.constant('push' as const), value: fc.string({ maxLength: 3 }) }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function perform(doc: Y.Doc, e: Edit): void {
  const text = doc.getText('text');
  const map = doc.getMap('state');
  const list = doc.getArray<string>('list');
  switch (e.op) {
    case 'type':
      text.insert(e.at % (text.length + 1), e.text);
      break;
    case 'erase':
      if (text.length > 0)
        text.delete(e.at % text.length, Math.min(e.length, text.length - (e.at % text.length)));
      break;
    case 'set': {
      const inner = map.get(e.key);
      if (inner instanceof Y.Map) inner.set('v', e.value);
      else map.set(e.key, e.value);
      break;
    }
    case 'nest':
      map.set(e.key, new Y.Map());
      break;
    case 'push':
      list.push([e.value]);
      break;
    case 'remove':
      if (list.length > 0) list.delete(e.at % list.length);
      break;
  }
}

/** Replicas editing one document, each update recorded with who made it. */
const session = fc.array(fc.record({ replica: fc.integer({ min: 0, max: 2 }), edit }), {
  minLength: 1,
  maxLength: 30,
});

function run(steps: { replica: number; edit: Edit }[]): { replica: number; update: Uint8Array }[] {
  const docs = [0, 1, 2].map((i) => {
    const doc = new Y.Doc();
    doc.clientID = i + 1;
    return doc;
  });
  const updates: { replica: number; update: Uint8Array }[] = [];
  for (const { replica, edit: e } of steps) {
    const doc = docs[replica] as Y.Doc;
    const before = Y.encodeStateVector(doc);
    perform(doc, e);
    const update = Y.encodeStateAsUpdate(doc, before);
    // An edit that changed nothing (typing "", say) makes the empty update.
    if (addsNothing(new Y.Doc(), update)) continue;
    updates.push({ replica, update });
    // Replicas sync now and then, so that edits build on each other's structs.
    if (updates.length % 3 === 0) {
      const merged = Y.mergeUpdates(docs.map((d) => Y.encodeStateAsUpdate(d)));
      for (const d of docs) Y.applyUpdate(d, merged);
    }
  }
  return updates;
}

/** Applies `update` to a copy of `doc`; returns whether Yjs threw or left something pending. */
function tryOnCopy(doc: Y.Doc, update: Uint8Array): 'clean' | 'threw' | 'pending' {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  try {
    Y.applyUpdate(copy, update);
  } catch {
    return 'threw';
  }
  return copy.store.pendingStructs !== null || copy.store.pendingDs !== null ? 'pending' : 'clean';
}

describe('integratesCleanly', () => {
  it('is true for updates received in the order they were made (what editors send)', () => {
    fc.assert(
      fc.property(session, (steps) => {
        const server = new Y.Doc();
        for (const { update } of run(steps)) {
          // A replica's update may build on another's the server has not had yet: then it waits.
          const clean = integratesCleanly(server, assertUpdate(update));
          if (clean) expect(tryOnCopy(server, update)).toBe('clean');
          Y.applyUpdate(server, update);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is true for a single writer typing (every update continues the last)', () => {
    const writer = new Y.Doc();
    const server = new Y.Doc();
    const updates: Uint8Array[] = [];
    writer.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 50; i++) writer.getText('t').insert(i, 'x');
    for (const update of updates) {
      expect(integratesCleanly(server, assertUpdate(update))).toBe(true);
      Y.applyUpdate(server, update);
    }
  });

  it('counts updates still on their way (`before`) as integrated first', () => {
    const writer = new Y.Doc();
    const updates: Uint8Array[] = [];
    writer.on('update', (u: Uint8Array) => updates.push(u));
    writer.getText('t').insert(0, 'a');
    writer.getText('t').insert(1, 'b');
    const server = new Y.Doc();
    const [first, second] = updates as [Uint8Array, Uint8Array];
    expect(integratesCleanly(server, assertUpdate(second))).toBe(false);
    expect(integratesCleanly(server, assertUpdate(second), new Map([[writer.clientID, 1]]))).toBe(true);
    Y.applyUpdate(server, first);
    expect(integratesCleanly(server, assertUpdate(second))).toBe(true);
  });

  it('is never true for an update Yjs throws on or keeps pending: mutated bytes of real updates', () => {
    fc.assert(
      fc.property(
        session,
        fc.nat(),
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (steps, pick, flips) => {
          const updates = run(steps);
          if (updates.length === 0) return;
          const server = new Y.Doc();
          const target = pick % updates.length;
          for (let i = 0; i < target; i++)
            Y.applyUpdate(server, (updates[i] as { update: Uint8Array }).update);
          const mutated = (updates[target] as { update: Uint8Array }).update.slice();
          for (const { at, byte } of flips) mutated[at % mutated.length] = byte;
          let decoded: ReturnType<typeof assertUpdate>;
          try {
            decoded = assertUpdate(mutated);
          } catch {
            return; // refused before any of this
          }
          if (integratesCleanly(server, decoded)) expect(tryOnCopy(server, mutated)).toBe('clean');
        },
      ),
      { numRuns: Math.min(2000, Number(process.env.YSTATE_FUZZ_RUNS ?? 2000)) },
    );
  }, 180_000);
});
