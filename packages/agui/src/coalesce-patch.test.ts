import type { Json, PatchOperation } from '@ystate/core';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { coalescePatch } from './coalesce-patch.js';

const { applyPatch, deepClone } = fjp;

function apply(doc: Json, ops: readonly PatchOperation[]): Json {
  return applyPatch(deepClone(doc), deepClone(ops) as fjp.Operation[], true, false).newDocument as Json;
}

/** Valid random edits (shaped like the engine's patches) of a doc with a list of objects and a map. */
function opsFrom(choices: readonly number[]): { start: Json; ops: PatchOperation[] } {
  const start = { list: [{ v: 0 }, { v: 1 }, { v: 2 }, { v: 3 }], map: { a: 1, b: 2 } } as Json;
  const state = deepClone(start) as { list: { v: number }[]; map: Record<string, number> };
  const ops: PatchOperation[] = [];
  for (const [i, choice] of choices.entries()) {
    const n = state.list.length;
    const at = (k: number) => Math.abs(choice >> k) % Math.max(1, n);
    const kind = Math.abs(choice) % 8;
    let op: PatchOperation;
    if (kind === 0 || n === 0)
      op = { op: 'add', path: `/list/${Math.abs(choice >> 3) % (n + 1)}`, value: { v: 100 + i } };
    else if (kind === 1) op = { op: 'remove', path: `/list/${at(3)}` };
    else if (kind === 2) op = { op: 'replace', path: `/list/${at(3)}`, value: { v: 200 + i } };
    else if (kind === 3) op = { op: 'replace', path: `/list/${at(3)}/v`, value: 300 + i };
    else if (kind === 4) {
      // As the engine's patches: an existing member changes by `replace`, a new one by `add`.
      const key = `k${Math.abs(choice >> 3) % 3}`;
      op = { op: key in state.map ? 'replace' : 'add', path: `/map/${key}`, value: i };
    } else if (kind === 5) {
      const keys = Object.keys(state.map);
      const key = keys[Math.abs(choice >> 3) % Math.max(1, keys.length)];
      op =
        key === undefined ? { op: 'add', path: '/map/a', value: i } : { op: 'remove', path: `/map/${key}` };
    } else if (kind === 6) op = { op: 'add', path: `/list/${at(3)}/w`, value: i };
    else op = { op: 'replace', path: '/map', value: { a: i } };
    // A copy: fast-json-patch inserts values by reference.
    applyPatch(state, [deepClone(op) as fjp.Operation]);
    ops.push(op);
  }
  return { start, ops };
}

describe('coalescePatch', () => {
  it('keeps the last of several replaces of one path', () => {
    expect(
      coalescePatch([
        { op: 'replace', path: '/n', value: 1 },
        { op: 'replace', path: '/m', value: 1 },
        { op: 'replace', path: '/n', value: 2 },
        { op: 'replace', path: '/n', value: 3 },
      ]),
    ).toEqual([
      { op: 'replace', path: '/m', value: 1 },
      { op: 'replace', path: '/n', value: 3 },
    ]);
  });

  it('drops an add followed by a remove of the same key, and edits inside a value later replaced', () => {
    expect(
      coalescePatch([
        { op: 'add', path: '/tmp', value: { x: 1 } },
        { op: 'replace', path: '/tmp/x', value: 2 },
        { op: 'remove', path: '/tmp' },
        { op: 'replace', path: '/o/a', value: 1 },
        { op: 'replace', path: '/o', value: {} },
      ]),
    ).toEqual([{ op: 'replace', path: '/o', value: {} }]);
  });

  it('turns a remove then add of one location into a replace', () => {
    expect(
      coalescePatch([
        { op: 'remove', path: '/a/2' },
        { op: 'add', path: '/a/2', value: 'x' },
      ]),
    ).toEqual([{ op: 'replace', path: '/a/2', value: 'x' }]);
  });

  it('does not merge across an operation the merge would renumber', () => {
    const ops: PatchOperation[] = [
      { op: 'remove', path: '/a/2' },
      { op: 'replace', path: '/a/3/done', value: true },
      { op: 'add', path: '/a/2', value: 'x' },
    ];
    expect(coalescePatch(ops)).toEqual(ops);
  });

  it('gives the same result as the original patch (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 40 }), (choices) => {
        const { start, ops } = opsFrom(choices);
        const coalesced = coalescePatch(ops);
        expect(coalesced.length).toBeLessThanOrEqual(ops.length);
        expect(apply(start, coalesced), JSON.stringify({ ops, coalesced })).toEqual(apply(start, ops));
      }),
      { numRuns: 2000 },
    );
  });
});
