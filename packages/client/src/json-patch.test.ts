import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import type { Json, PatchOperation } from './json.js';
import { applyPatch } from './json-patch.js';

const json = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<Json>(null, true, false, 0, 1.5, 'a', ''),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd/e', 'f~g', '0'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A document: an object at the root (fast-json-patch's diff does not replace the root itself). */
const doc = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd/e', 'f~g', '0'), json, { maxKeys: 5 });

describe('applyPatch', () => {
  it('applies what fast-json-patch diffs: from any JSON to any other, without changing the input (property)', () => {
    fc.assert(
      fc.property(doc, doc, (before, after) => {
        const copy = structuredClone(before);
        const ops = fastJsonPatch.compare(before as object, after as object) as PatchOperation[];
        expect(applyPatch(before, ops)).toEqual(after);
        expect(before).toEqual(copy);
      }),
      { numRuns: 500 },
    );
  });

  it('shares what the patch did not touch', () => {
    const before: Json = { a: { deep: [1, 2] }, b: { x: 1 } };
    const after = applyPatch(before, [{ op: 'replace', path: '/b/x', value: 2 }]) as Record<string, Json>;
    expect(after.a).toBe(before.a);
    expect(after.b).toEqual({ x: 2 });
  });

  it('move, copy, test, the end of an array, and all-or-nothing failures', () => {
    const value: Json = { list: [1, 2], obj: { k: 'v' } };
    expect(
      applyPatch(value, [
        { op: 'copy', from: '/obj', path: '/copied' },
        { op: 'move', from: '/list/0', path: '/list/-' },
        { op: 'test', path: '/list', value: [2, 1] },
      ]),
    ).toEqual({ list: [2, 1], obj: { k: 'v' }, copied: { k: 'v' } });
    for (const ops of [
      [{ op: 'test', path: '/list', value: [] }],
      [{ op: 'remove', path: '/missing' }],
      [{ op: 'replace', path: '/missing', value: 1 }],
      [{ op: 'add', path: '/list/5', value: 1 }],
      [{ op: 'add', path: '/list/x', value: 1 }],
      [{ op: 'add', path: 'no-slash', value: 1 }],
    ] as PatchOperation[][]) {
      expect(() => applyPatch(value, ops)).toThrow();
    }
    expect(value).toEqual({ list: [1, 2], obj: { k: 'v' } });
  });
});
