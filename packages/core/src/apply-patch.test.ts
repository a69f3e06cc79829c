import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ErrorCode, isYStateError } from './errors.js';
import type { Json } from './json.js';
import { StateDocument } from './state-document.js';
import { collaborativeText } from './y-value.js';

function docWith(state: Record<string, Json>): StateDocument {
  const doc = new StateDocument('test');
  doc.set('', state);
  return doc;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isYStateError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('applyPatch: RFC 6902 operations as one Yjs transaction', () => {
  it('add sets object members, inserts at an index, and appends with "-"', () => {
    const doc = docWith({ list: ['a', 'c'] });
    doc.applyPatch([
      { op: 'add', path: '/name', value: 'n' },
      { op: 'add', path: '/list/1', value: 'b' },
      { op: 'add', path: '/list/-', value: 'd' },
      { op: 'add', path: '/nested', value: { deep: [1, { x: null }] } },
    ]);
    expect(doc.toJSON()).toEqual({
      name: 'n',
      list: ['a', 'b', 'c', 'd'],
      nested: { deep: [1, { x: null }] },
    });
    expect(doc.root.get('nested')).toBeInstanceOf(Y.Map);
  });

  it('remove deletes members and elements; replace overwrites existing ones', () => {
    const doc = docWith({ a: 1, b: 2, list: [1, 2, 3] });
    doc.applyPatch([
      { op: 'remove', path: '/a' },
      { op: 'remove', path: '/list/0' },
      { op: 'replace', path: '/b', value: { now: 'object' } },
      { op: 'replace', path: '/list/1', value: 30 },
    ]);
    expect(doc.toJSON()).toEqual({ b: { now: 'object' }, list: [2, 30] });
  });

  it('move and copy carry values, including whole subtrees', () => {
    const doc = docWith({ from: { x: [1, 2] }, list: ['a', 'b', 'c'] });
    doc.applyPatch([
      { op: 'copy', from: '/from', path: '/copied' },
      { op: 'move', from: '/from/x', path: '/moved' },
      { op: 'move', from: '/list/0', path: '/list/2' },
    ]);
    expect(doc.toJSON()).toEqual({ from: {}, copied: { x: [1, 2] }, moved: [1, 2], list: ['b', 'c', 'a'] });
  });

  it('test passes on equal values and the rest of the patch applies', () => {
    const doc = docWith({ a: { b: [1, { c: 'd' }] } });
    doc.applyPatch([
      { op: 'test', path: '/a', value: { b: [1, { c: 'd' }] } },
      { op: 'add', path: '/ok', value: true },
    ]);
    expect(doc.get('/ok')).toBe(true);
  });

  it('escaped pointers: ~1 is "/" and ~0 is "~"', () => {
    const doc = docWith({ 'a/b': 1, 'm~n': 2, '~1': 3 });
    doc.applyPatch([
      { op: 'replace', path: '/a~1b', value: 10 },
      { op: 'replace', path: '/m~0n', value: 20 },
      { op: 'add', path: '/~01', value: 30 },
      { op: 'add', path: '/new~1key~0', value: 40 },
    ]);
    expect(doc.toJSON()).toEqual({ 'a/b': 10, 'm~n': 20, '~1': 30, 'new/key~': 40 });
  });

  it('a failing test rejects the whole patch: nothing changes and no update is emitted', () => {
    const doc = docWith({ a: 1, list: [1] });
    let updates = 0;
    doc.ydoc.on('update', () => updates++);
    const code = codeOf(() =>
      doc.applyPatch([
        { op: 'add', path: '/b', value: 2 },
        { op: 'remove', path: '/list/0' },
        { op: 'test', path: '/a', value: 2 },
      ]),
    );
    expect(code).toBe(ErrorCode.PATCH_TEST_FAILED);
    expect(doc.toJSON()).toEqual({ a: 1, list: [1] });
    expect(updates).toBe(0);
  });

  it('an unresolvable path rejects the whole patch with a typed error', () => {
    const doc = docWith({ a: 1, list: [1] });
    const cases: [unknown, string][] = [
      [
        [
          { op: 'add', path: '/x', value: 1 },
          { op: 'remove', path: '/missing' },
        ],
        ErrorCode.PATH_NOT_FOUND,
      ],
      [
        [
          { op: 'add', path: '/x', value: 1 },
          { op: 'add', path: '/missing/child', value: 1 },
        ],
        ErrorCode.PATH_NOT_FOUND,
      ],
      [
        [
          { op: 'add', path: '/x', value: 1 },
          { op: 'add', path: '/list/5', value: 1 },
        ],
        ErrorCode.PATH_NOT_FOUND,
      ],
      [
        [
          { op: 'add', path: '/x', value: 1 },
          { op: 'add', path: '/a/child', value: 1 },
        ],
        ErrorCode.TYPE_MISMATCH,
      ],
      [
        [
          { op: 'add', path: '/x', value: 1 },
          { op: 'add', path: '/list/01', value: 1 },
        ],
        ErrorCode.INVALID_POINTER,
      ],
      [[{ op: 'add', path: 'no-slash', value: 1 }], ErrorCode.INVALID_POINTER],
      [[{ op: 'replace', path: '/list/-', value: 1 }], ErrorCode.INVALID_POINTER],
      [[{ op: 'move', from: '/list', path: '/list/0' }], ErrorCode.INVALID_PATCH],
      [[{ op: 'remove', path: '' }], ErrorCode.TYPE_MISMATCH],
      [[{ op: 'nope', path: '/a' }], ErrorCode.INVALID_PATCH],
      [[{ op: 'add', path: '/a' }], ErrorCode.INVALID_PATCH],
      [[{ op: 'add', path: '/a', value: Number.NaN }], ErrorCode.INVALID_VALUE],
      [{ op: 'add', path: '/a', value: 1 }, ErrorCode.INVALID_PATCH],
      [[{ op: 'copy', path: '/a' }], ErrorCode.INVALID_PATCH],
    ];
    for (const [patch, expected] of cases) {
      expect({ patch, code: codeOf(() => doc.applyPatch(patch)) }).toEqual({ patch, code: expected });
    }
    expect(doc.toJSON()).toEqual({ a: 1, list: [1] });
  });

  it('replacing the root replaces the whole state', () => {
    const doc = docWith({ a: 1 });
    doc.applyPatch([{ op: 'replace', path: '', value: { b: 2 } }]);
    expect(doc.toJSON()).toEqual({ b: 2 });
    expect(codeOf(() => doc.applyPatch([{ op: 'replace', path: '', value: [1] }]))).toBe(
      ErrorCode.TYPE_MISMATCH,
    );
  });

  it('replacing a collaborative text edits it in place, so a concurrent edit elsewhere survives', () => {
    const a = new StateDocument('a');
    a.set('/title', collaborativeText('hello world'));
    const b = new StateDocument('b');
    Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc));
    a.applyPatch([{ op: 'replace', path: '/title', value: 'hello brave world' }]);
    b.spliceText('/title', 11, 0, '!');
    Y.applyUpdate(a.ydoc, Y.encodeStateAsUpdate(b.ydoc));
    Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc));
    expect(a.get('/title')).toBe('hello brave world!');
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(a.text('/title')).toBeInstanceOf(Y.Text);
  });

  it('matches fast-json-patch on random valid patches (same result on plain JSON)', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const json: fc.Arbitrary<Json> = fc.letrec<{ j: Json }>((tie) => ({
      j: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(fc.integer(), fc.string({ maxLength: 2 }), fc.constant(null)),
        fc.array(tie('j'), { maxLength: 3 }),
        fc.dictionary(key, tie('j'), { maxKeys: 3 }),
      ),
    })).j;
    fc.assert(
      fc.property(
        fc.dictionary(key, json, { maxKeys: 3 }),
        fc.array(fc.tuple(fc.nat(5), fc.nat(), json), { maxLength: 6 }),
        (state, steps) => {
          const doc = docWith(state);
          let expected: Json = structuredClone(state);
          for (const [kind, pick, value] of steps) {
            const paths = allPaths(expected);
            const path = paths[pick % paths.length]!;
            const op = (
              [
                { op: 'add', path: `${path}/${path === '' ? 'k' : '0'}`, value },
                { op: 'replace', path, value },
                { op: 'remove', path },
                { op: 'copy', from: path, path: '/copy' },
                { op: 'move', from: path, path: '/moved' },
                { op: 'test', path, value: structuredClone(valueAt(expected, path)) },
              ] as jsonpatch.Operation[]
            )[kind]!;
            if (op.op === 'move' && op.from === '') {
              // RFC 6902 forbids moving a location into its own child; fast-json-patch allows it, we refuse.
              expect(() => doc.applyPatch([op])).toThrow(/own child/);
              continue;
            }
            let want: Json;
            try {
              want = jsonpatch.applyPatch(structuredClone(expected), [op], true, false).newDocument as Json;
              if (typeof want !== 'object' || want === null || Array.isArray(want)) continue;
            } catch {
              // fast-json-patch refuses it: so must we, leaving the state as it was.
              expect(() => doc.applyPatch([op])).toThrow();
              expect(doc.toJSON()).toEqual(expected);
              continue;
            }
            doc.applyPatch([op]);
            expected = want;
            expect(doc.toJSON()).toEqual(expected);
          }
          doc.destroy();
        },
      ),
      { numRuns: 300 },
    );
  });
});

function allPaths(value: Json, prefix = ''): string[] {
  const paths = [prefix];
  if (Array.isArray(value))
    for (const [i, v] of value.entries()) paths.push(...allPaths(v, `${prefix}/${i}`));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths.push(...allPaths(v, `${prefix}/${k}`));
  return paths;
}

function valueAt(value: Json, path: string): Json {
  return jsonpatch.getValueByPointer(value, path) as Json;
}

describe('applyPatch at a base version', () => {
  it('lands an "add /items/3" after the element its author saw at index 2, even if others inserted before it', () => {
    const server = docWith({ items: ['a', 'b', 'c', 'd'] });
    // The agent reads the state at this version…
    const base = Y.encodeStateAsUpdate(server.ydoc);
    // …meanwhile a person inserts at the front.
    server.insert('/items/0', 'x');
    expect(server.get('/items')).toEqual(['x', 'a', 'b', 'c', 'd']);
    // Without a base, index 3 now means "after b": the wrong place.
    // With the base, it means "after c", as the agent intended.
    server.applyPatch([{ op: 'add', path: '/items/3', value: 'agent' }], { base });
    expect(server.get('/items')).toEqual(['x', 'a', 'b', 'c', 'agent', 'd']);
  });

  it('merges with concurrent edits instead of overwriting them, and tests against the base', () => {
    const server = docWith({ todo: { title: 'old', done: false }, count: 1 });
    const base = Y.encodeStateAsUpdate(server.ydoc);
    server.set('/count', 2);
    server.applyPatch(
      [
        { op: 'test', path: '/count', value: 1 },
        { op: 'replace', path: '/todo/done', value: true },
      ],
      { base },
    );
    expect(server.toJSON()).toEqual({ todo: { title: 'old', done: true }, count: 2 });
    expect(() => server.applyPatch([{ op: 'test', path: '/count', value: 2 }], { base })).toThrow(
      /test at "\/count" failed/,
    );
  });

  it('accepts a Y.Snapshot base on documents with gc disabled, and refuses it otherwise', () => {
    const server = new StateDocument('s', { ydoc: new Y.Doc({ gc: false }) });
    server.set('/items', ['a', 'b']);
    const snapshot = Y.snapshot(server.ydoc);
    server.insert('/items/0', 'x');
    server.applyPatch([{ op: 'add', path: '/items/1', value: 'agent' }], { base: snapshot });
    expect(server.get('/items')).toEqual(['x', 'a', 'agent', 'b']);
    const gcDoc = docWith({ a: 1 });
    expect(codeOf(() => gcDoc.applyPatch([], { base: Y.snapshot(gcDoc.ydoc) }))).toBe(
      ErrorCode.INVALID_PATCH,
    );
  });

  it('reports the merged change with the caller-given origin', () => {
    const server = docWith({ items: [] });
    const base = Y.encodeStateAsUpdate(server.ydoc);
    const origins: unknown[] = [];
    server.onChange((change) => origins.push(change.origin));
    server.applyPatch([{ op: 'add', path: '/items/-', value: 1 }], { base, origin: 'agent-7' });
    expect(origins).toEqual(['agent-7']);
  });
});
