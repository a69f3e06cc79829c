import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Json } from './json.js';
import { StateDocument } from './state-document.js';

/** One step on a long list of `{ n }` items: a field edit inside an item, or a change of the list. */
const step = fc.oneof(
  fc.record({ op: fc.constant('field' as const), at: fc.nat(), n: fc.integer() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), n: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('remote' as const), at: fc.nat(), n: fc.integer() }),
);

describe('list positions', () => {
  it('changes inside items of a long list get the index the item has now, however the list moved', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const doc = new StateDocument('positions');
        const items = Array.from({ length: 150 }, (_, n) => ({ n }));
        doc.set('/items', items);
        let folded = structuredClone(doc.toJSON()) as Json;
        doc.onChange((change) => {
          folded = fastJsonPatch.applyPatch(folded, structuredClone(change.ops) as never, true, false)
            .newDocument as Json;
        });
        // A second replica whose edits arrive as remote updates (no local paths computed for them).
        const other = new Y.Doc();
        Y.applyUpdate(other, Y.encodeStateAsUpdate(doc.ydoc));
        const length = () => (doc.get('/items') as Json[]).length;
        for (const s of steps) {
          const size = length();
          if (s.op === 'field' && size > 0) doc.set(`/items/${s.at % size}/n`, s.n);
          else if (s.op === 'insert') doc.insert(`/items/${s.at % (size + 1)}`, { n: s.n });
          else if (s.op === 'delete' && size > 0) doc.delete(`/items/${s.at % size}`);
          else if (s.op === 'remote') {
            Y.applyUpdate(other, Y.encodeStateAsUpdate(doc.ydoc, Y.encodeStateVector(other)));
            const list = (other.getMap('state').get('items') as Y.Array<Y.Map<unknown>>) ?? undefined;
            if (list === undefined || list.length === 0) continue;
            const before = Y.encodeStateVector(doc.ydoc);
            (list.get(s.at % list.length) as Y.Map<unknown>).set('n', s.n);
            Y.applyUpdate(doc.ydoc, Y.encodeStateAsUpdate(other, before));
          }
          expect(folded).toEqual(doc.toJSON());
        }
        doc.destroy();
      }),
      { numRuns: 60 },
    );
  });
});
