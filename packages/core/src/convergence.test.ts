import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Json } from './json.js';
import { formatPointer } from './pointer.js';
import { type Change, StateDocument } from './state-document.js';
import { collaborativeText, type Writable } from './y-value.js';

/**
 * Replicas make random nested edits (maps, arrays, text) and exchange updates in random order,
 * with duplicates and delays. Two properties, as in Yjs's own testHelper: every replica ends
 * with the same JSON, and every transaction's JSON Patch, applied with fast-json-patch (what
 * @ag-ui/client uses) to the JSON before it, gives exactly the JSON after it.
 */

const REMOTE = Symbol('remote');
const keys = ['a', 'b', 'c', 'd~', 'e/f'];

const leaf = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1.5, '', 'x'),
  fc.integer(),
  fc.string({ maxLength: 4 }),
);
const value: fc.Arbitrary<Writable> = fc.letrec<{ v: Writable }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.string({ maxLength: 6 }).map((s) => collaborativeText(s)),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie('v'), { maxKeys: 3 }),
  ),
})).v;

type Command =
  | {
      kind: 'edit';
      replica: number;
      target: number;
      action: number;
      key: number;
      value: Writable;
      text: string;
    }
  | { kind: 'deliver'; replica: number; pick: number; keep: boolean };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('edit' as const),
    replica: fc.nat(2),
    target: fc.nat(),
    action: fc.nat(),
    key: fc.nat(),
    value,
    text: fc.string({ maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('deliver' as const),
    replica: fc.nat(2),
    pick: fc.nat(),
    keep: fc.boolean(),
  }),
);

/** Every container and text in the document, with its pointer, found by walking the Y types. */
function targets(doc: StateDocument): { pointer: string; type: Y.AbstractType<unknown> }[] {
  const found: { pointer: string; type: Y.AbstractType<unknown> }[] = [];
  const walk = (type: unknown, path: (string | number)[]) => {
    if (!(type instanceof Y.AbstractType)) return;
    found.push({ pointer: formatPointer(path), type });
    if (type instanceof Y.Map) for (const [k, v] of type.entries()) walk(v, [...path, k]);
    if (type instanceof Y.Array) for (const [i, v] of type.toArray().entries()) walk(v, [...path, i]);
  };
  walk(doc.root, []);
  return found;
}

function edit(doc: StateDocument, c: Extract<Command, { kind: 'edit' }>): void {
  const all = targets(doc);
  const { pointer, type } = all[c.target % all.length]!;
  const key = keys[c.key % keys.length]!;
  const child = (k: string | number) => `${pointer}${formatPointer([k])}`;
  if (type instanceof Y.Map) {
    if (c.action % 3 === 0 && type.size > 0) doc.delete(child([...type.keys()][c.key % type.size]!));
    else doc.set(child(key), c.value);
  } else if (type instanceof Y.Array) {
    const n = type.length;
    const action = c.action % 4;
    if (action === 0 && n > 0) doc.delete(child(c.key % n));
    else if (action === 1 && n > 0) doc.set(child(c.key % n), c.value);
    else if (action === 2) doc.push(pointer, c.value, c.text);
    else doc.insert(child(c.key % (n + 1)), c.value);
  } else if (type instanceof Y.Text) {
    const n = type.length;
    const at = c.key % (n + 1);
    doc.spliceText(pointer, at, Math.min(c.action % 3, n - at), c.text);
  }
}

function replicas(n: number) {
  const docs: StateDocument[] = [];
  const inboxes: Uint8Array[][] = [];
  const sent: Uint8Array[] = [];
  const shadows: Json[] = [];
  const faults: string[] = [];
  for (let i = 0; i < n; i++) {
    const doc = new StateDocument(`replica-${i}`);
    docs.push(doc);
    inboxes.push([]);
    shadows.push({});
    doc.ydoc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return;
      sent.push(update);
      for (let j = 0; j < n; j++) if (j !== i) inboxes[j]!.push(update);
    });
    doc.onChange((change: Change) => {
      const next = jsonpatch.applyPatch(
        structuredClone(shadows[i]),
        change.ops as jsonpatch.Operation[],
        true,
        false,
      ).newDocument as Json;
      if (!jsonEqualStrict(next, doc.toJSON())) {
        faults.push(
          `replica ${i}: ${JSON.stringify(change.ops)} gave ${JSON.stringify(next)}, expected ${JSON.stringify(doc.toJSON())}`,
        );
      }
      shadows[i] = doc.toJSON();
    });
  }
  return { docs, inboxes, sent, faults };
}

function jsonEqualStrict(a: unknown, b: unknown): boolean {
  try {
    expect(a).toStrictEqual(b);
    return true;
  } catch {
    return false;
  }
}

describe('convergence and patch exactness (property)', () => {
  it('replicas exchanging updates in any order, with duplicates and delays, converge; every patch is exact', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), fc.nat(), (commands, seed) => {
        const { docs, inboxes, sent, faults } = replicas(3);
        for (const c of commands) {
          const doc = docs[c.replica]!;
          if (c.kind === 'edit') {
            edit(doc, c);
          } else {
            const inbox = inboxes[c.replica]!;
            if (inbox.length === 0) continue;
            const index = c.pick % inbox.length;
            const update = inbox[index]!;
            if (!c.keep) inbox.splice(index, 1);
            Y.applyUpdate(doc.ydoc, update, REMOTE);
          }
        }
        // Finally every replica receives everything ever sent, in a shuffled order (duplicates included).
        for (const [i, doc] of docs.entries()) {
          const order = sent
            .map((_, k) => k)
            .sort((x, y) => ((x * 7919 + seed + i) % 101) - ((y * 7919 + seed + i) % 101));
          for (const k of order) Y.applyUpdate(doc.ydoc, sent[k]!, REMOTE);
        }
        expect(faults).toEqual([]);
        const first = docs[0]!.toJSON();
        for (const doc of docs) expect(doc.toJSON()).toStrictEqual(first);
        for (const doc of docs) doc.destroy();
      }),
      { numRuns: 1000 },
    );
  });
});
