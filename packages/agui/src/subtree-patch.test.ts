import { formatPointer, type Json, type PatchOperation } from '@ystate/core';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { subtreePatch } from './subtree-patch.js';

const { applyPatch, deepClone, getValueByPointer } = fjp;

function at(doc: Json, pointer: string): Json | undefined {
  try {
    return getValueByPointer(doc, pointer) as Json | undefined;
  } catch {
    return undefined;
  }
}

describe('subtreePatch', () => {
  it('keeps operations below the subtree, relative to it, and drops the rest', () => {
    expect(
      subtreePatch(
        [
          { op: 'replace', path: '/a/b/c', value: 1 },
          { op: 'add', path: '/x', value: 2 },
          { op: 'remove', path: '/a/b/d' },
        ],
        ['a', 'b'],
      ),
    ).toEqual({
      kind: 'patch',
      ops: [
        { op: 'replace', path: '/c', value: 1 },
        { op: 'remove', path: '/d' },
      ],
    });
  });

  it('asks for a snapshot when the subtree is replaced, removed, or moved by an array edit before it', () => {
    expect(subtreePatch([{ op: 'replace', path: '/a', value: {} }], ['a', 'b']).kind).toBe('snapshot');
    expect(subtreePatch([{ op: 'remove', path: '/a/b' }], ['a', 'b']).kind).toBe('snapshot');
    expect(subtreePatch([{ op: 'add', path: '/list/0', value: 1 }], ['list', '2']).kind).toBe('snapshot');
    expect(subtreePatch([{ op: 'add', path: '/list/3', value: 1 }], ['list', '2'])).toEqual({
      kind: 'patch',
      ops: [],
    });
  });

  it('rebased operations applied to the old subtree give the new subtree (property)', () => {
    const docs = fc.record({
      list: fc.array(
        fc.record({ v: fc.integer({ max: 9, min: 0 }), w: fc.array(fc.nat(9), { maxLength: 3 }) }),
        {
          minLength: 1,
          maxLength: 5,
        },
      ),
    });
    fc.assert(
      fc.property(
        docs,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (start, choices, pick) => {
          // Random valid edits (as the engine would emit them) and a random subtree.
          const state = deepClone(start) as { list: { v: number; w: number[] }[] };
          const ops: PatchOperation[] = [];
          for (const [i, c] of choices.entries()) {
            const n = state.list.length;
            const k = c % Math.max(1, n);
            const op: PatchOperation =
              n === 0 || c % 5 === 0
                ? { op: 'add', path: `/list/${c % (n + 1)}`, value: { v: i, w: [] } }
                : c % 5 === 1
                  ? { op: 'remove', path: `/list/${k}` }
                  : c % 5 === 2
                    ? { op: 'replace', path: `/list/${k}/v`, value: 10 + i }
                    : c % 5 === 3
                      ? { op: 'add', path: `/list/${k}/w/0`, value: i }
                      : { op: 'replace', path: `/list/${k}`, value: { v: 20 + i, w: [i] } };
            applyPatch(state, [deepClone(op) as fjp.Operation]);
            ops.push(op);
          }
          const roots = [
            [],
            ['list'],
            ['list', String(pick % start.list.length)],
            ['list', String(pick % start.list.length), 'w'],
          ];
          const root = roots[pick % roots.length] as string[];
          const result = subtreePatch(ops, root);
          if (result.kind === 'snapshot') return;
          const before = at(start as Json, formatPointer(root));
          const after = at(state as Json, formatPointer(root));
          const rebased = applyPatch(
            deepClone(before),
            deepClone(result.ops) as fjp.Operation[],
            true,
            false,
          );
          expect(rebased.newDocument).toEqual(after);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
