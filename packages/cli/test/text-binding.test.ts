/** The demo editor's diffing and caret arithmetic (the browser behaviour is in e2e/). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { spliceBetween, transformPosition, type YTextDelta } from '../demo/text-binding.js';

function applySplice(text: string, splice: { index: number; remove: number; insert: string }): string {
  return text.slice(0, splice.index) + splice.insert + text.slice(splice.index + splice.remove);
}

describe('spliceBetween', () => {
  it('turns any text into any other (one splice), wherever the caret is', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), (before, after, caret) => {
        const splice = spliceBetween(before, after, caret % (after.length + 1));
        expect(applySplice(before, splice)).toBe(after);
        expect(splice.remove).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('uses the caret to place an insert among repeated characters', () => {
    expect(spliceBetween('aa', 'aaa', 3)).toEqual({ index: 2, remove: 0, insert: 'a' });
    expect(spliceBetween('aa', 'aaa', 1)).toEqual({ index: 0, remove: 0, insert: 'a' });
    expect(spliceBetween('hello world', 'hello brave world', 12)).toEqual({
      index: 6,
      remove: 0,
      insert: 'brave ',
    });
  });

  it('never splits a surrogate pair', () => {
    const splice = spliceBetween('a😀', 'a😃', 3);
    expect(splice).toEqual({ index: 1, remove: 2, insert: '😃' });
  });

  it('lets concurrent edits at different places merge in Y.Text', () => {
    const [left, right] = [new Y.Doc(), new Y.Doc()];
    left.getText('t').insert(0, 'shared text');
    Y.applyUpdate(right, Y.encodeStateAsUpdate(left));
    for (const [doc, next, caret] of [
      [left, 'my shared text', 3],
      [right, 'shared text!', 12],
    ] as const) {
      const text = doc.getText('t');
      const { index, remove, insert } = spliceBetween(text.toString(), next, caret);
      doc.transact(() => {
        text.delete(index, remove);
        text.insert(index, insert);
      });
    }
    Y.applyUpdate(left, Y.encodeStateAsUpdate(right));
    Y.applyUpdate(right, Y.encodeStateAsUpdate(left));
    expect(left.getText('t').toString()).toBe('my shared text!');
    expect(right.getText('t').toString()).toBe('my shared text!');
  });
});

describe('transformPosition', () => {
  const cases: [string, YTextDelta, number, number][] = [
    ['insert before the caret pushes it', [{ insert: 'ab' }], 3, 5],
    ['insert after the caret leaves it', [{ retain: 5 }, { insert: 'ab' }], 3, 3],
    ['insert at the caret leaves it', [{ retain: 3 }, { insert: 'ab' }], 3, 3],
    ['delete before the caret pulls it', [{ retain: 1 }, { delete: 2 }], 5, 3],
    ['delete around the caret puts it at the cut', [{ retain: 1 }, { delete: 6 }], 4, 1],
    ['delete after the caret leaves it', [{ retain: 6 }, { delete: 2 }], 4, 4],
  ];
  it.each(cases)('%s', (_, delta, position, expected) => {
    expect(transformPosition(position, delta)).toBe(expected);
  });

  it('keeps the caret next to the same character through random remote edits', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 5 }),
        fc.string(),
        (initial, caretSeed, atSeed, remove, insert) => {
          const doc = new Y.Doc();
          const text = doc.getText('t');
          text.insert(0, initial);
          const caret = caretSeed % (initial.length + 1);
          const at = atSeed % (initial.length + 1);
          let delta: YTextDelta = [];
          text.observe((event) => {
            delta = event.delta as YTextDelta;
          });
          doc.transact(() => {
            text.delete(at, Math.min(remove, initial.length - at));
            text.insert(at, insert);
          });
          const moved = transformPosition(caret, delta);
          const after = text.toString();
          // The text after the caret survives an edit wholly before it. (An insert exactly at the
          // caret stays after it, as with Yjs' relative positions.)
          if (caret > at + Math.min(remove, initial.length - at)) {
            expect(after.slice(moved)).toBe(initial.slice(caret));
          }
          expect(moved).toBeGreaterThanOrEqual(0);
          expect(moved).toBeLessThanOrEqual(after.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
