import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import type { Json } from './json.js';
import { diffJson } from './json-diff.js';

const { applyPatch, deepClone } = fjp;

function apply(doc: Json, ops: ReturnType<typeof diffJson>): Json {
  return applyPatch(deepClone(doc), deepClone(ops) as fjp.Operation[], true, false).newDocument as Json;
}

describe('diffJson', () => {
  it('inserts into an array as one add, not a rewrite of everything after it', () => {
    expect(diffJson({ list: ['a', 'b', 'c'] }, { list: ['a', 'x', 'b', 'c'] })).toEqual([
      { op: 'add', path: '/list/1', value: 'x' },
    ]);
    expect(diffJson(['a', 'b', 'c'], ['a', 'c'])).toEqual([{ op: 'remove', path: '/1' }]);
  });

  it('edits a changed list item in place (a concurrent edit of its other fields survives a merge)', () => {
    expect(diffJson([{ t: 'a', done: false }, { t: 'b' }], [{ t: 'a', done: true }, { t: 'b' }])).toEqual([
      { op: 'replace', path: '/0/done', value: true },
    ]);
  });

  it('escapes keys as JSON Pointer segments', () => {
    expect(diffJson({}, { 'a/b~c': 1 })).toEqual([{ op: 'add', path: '/a~1b~0c', value: 1 }]);
  });

  it('turns any JSON value into any other (property)', () => {
    // `__proto__` is excluded: fast-json-patch (plain JS objects) cannot hold it as an own key.
    const json = fc
      .jsonValue({ maxDepth: 4 })
      .filter((value) => !JSON.stringify(value).includes('"__proto__"'));
    fc.assert(
      fc.property(json, json, (a, b) => {
        // Compared as JSON (which has no -0).
        const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as Json;
        expect(asJson(apply(a as Json, diffJson(a as Json, b as Json)))).toEqual(asJson(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('turns an edited document into the edit (property)', () => {
    const item = fc.record({ t: fc.string({ maxLength: 3 }), n: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.array(item, { maxLength: 8 }), (a, b) => {
        const ops = diffJson({ list: a }, { list: b });
        expect(apply({ list: a }, ops)).toEqual({ list: b });
      }),
      { numRuns: 2000 },
    );
  });
});
