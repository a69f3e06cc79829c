import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { ErrorCode, isYStateError } from './errors.js';
import { type Change, StateDocument } from './state-document.js';
import { collaborativeText } from './y-value.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isYStateError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('path access', () => {
  it('maps objects to Y.Map, arrays to Y.Array, primitives as they are, and text to Y.Text on request', () => {
    const doc = new StateDocument('d');
    doc.set('/agents', [{ name: 'a', status: 'idle', tags: ['x'] }]);
    doc.set('/notes', collaborativeText('hi'));
    doc.set('/count', 3);
    const agents = doc.root.get('agents') as Y.Array<Y.Map<unknown>>;
    expect(agents).toBeInstanceOf(Y.Array);
    expect(agents.get(0)).toBeInstanceOf(Y.Map);
    expect(agents.get(0).get('tags')).toBeInstanceOf(Y.Array);
    expect(doc.root.get('notes')).toBeInstanceOf(Y.Text);
    expect(doc.toJSON()).toEqual({
      agents: [{ name: 'a', status: 'idle', tags: ['x'] }],
      notes: 'hi',
      count: 3,
    });
    expect(doc.get('/agents/0/status')).toBe('idle');
    expect(doc.get('/agents/0/tags/0')).toBe('x');
    expect(doc.get('/missing')).toBeUndefined();
    expect(doc.get('/count/deeper')).toBeUndefined();
    expect(doc.get('')).toEqual(doc.toJSON());
  });

  it('set replaces array elements; insert and push add; delete removes', () => {
    const doc = new StateDocument('d');
    doc.set('/list', [1, 2]);
    doc.set('/list/0', 10);
    doc.insert('/list/1', 15);
    doc.insert('/list/-', 30);
    doc.push('/list', 40, 50);
    doc.delete('/list/2');
    expect(doc.get('/list')).toEqual([10, 15, 30, 40, 50]);
  });

  it("writes copy their values: collaborative text survives merge, and later ops never touch the caller's objects", () => {
    const doc = new StateDocument('d');
    doc.set('/n', {});
    doc.merge('/n', { note: { body: collaborativeText('x') } });
    expect(doc.text('/n/note/body').toString()).toBe('x');
    const value = { list: [1] };
    doc.batch((tx) => {
      tx.set('/v', value);
      tx.push('/v/list', 2);
    });
    expect(value).toEqual({ list: [1] });
    expect(doc.get('/v')).toEqual({ list: [1, 2] });
  });

  it('merge deep-merges objects and sets everything else', () => {
    const doc = new StateDocument('d');
    doc.set('/cfg', { a: { b: 1, c: 2 }, list: [1] });
    doc.merge('/cfg', { a: { c: 3, d: 4 }, list: [2], e: null });
    expect(doc.get('/cfg')).toEqual({ a: { b: 1, c: 3, d: 4 }, list: [2], e: null });
  });

  it('spliceText edits collaborative text and concurrent edits merge character-wise', () => {
    const a = new StateDocument('a');
    a.set('/t', collaborativeText('abc'));
    const b = new StateDocument('b');
    Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc));
    a.spliceText('/t', 0, 0, 'X');
    b.spliceText('/t', 3, 0, 'Y');
    Y.applyUpdate(a.ydoc, Y.encodeStateAsUpdate(b.ydoc));
    expect(a.get('/t')).toBe('XabcY');
    expect(codeOf(() => a.spliceText('/t', 9, 1, 'z'))).toBe(ErrorCode.PATH_NOT_FOUND);
    a.set('/plain', 'not text');
    expect(codeOf(() => a.spliceText('/plain', 0, 0, 'z'))).toBe(ErrorCode.TYPE_MISMATCH);
    expect(codeOf(() => a.text('/plain'))).toBe(ErrorCode.TYPE_MISMATCH);
  });

  it('invalid pointers, missing parents and type mismatches are typed errors, never silent no-ops', () => {
    const doc = new StateDocument('d');
    doc.set('/n', 1);
    doc.set('/list', []);
    const before = doc.toJSON();
    expect(codeOf(() => doc.set('n', 2))).toBe(ErrorCode.INVALID_POINTER);
    expect(codeOf(() => doc.set('/a~2b', 2))).toBe(ErrorCode.INVALID_POINTER);
    expect(codeOf(() => doc.set('/missing/child', 2))).toBe(ErrorCode.PATH_NOT_FOUND);
    expect(codeOf(() => doc.delete('/missing'))).toBe(ErrorCode.PATH_NOT_FOUND);
    expect(codeOf(() => doc.set('/n/child', 2))).toBe(ErrorCode.TYPE_MISMATCH);
    expect(codeOf(() => doc.insert('/n/0', 2))).toBe(ErrorCode.TYPE_MISMATCH);
    expect(codeOf(() => doc.push('/n', 2))).toBe(ErrorCode.TYPE_MISMATCH);
    expect(codeOf(() => doc.merge('/list', { a: 1 }))).toBe(ErrorCode.TYPE_MISMATCH);
    expect(codeOf(() => doc.set('/list/0', 1))).toBe(ErrorCode.PATH_NOT_FOUND);
    expect(codeOf(() => doc.set('/bad', Number.POSITIVE_INFINITY))).toBe(ErrorCode.INVALID_VALUE);
    expect(codeOf(() => doc.set('/bad', { when: new Date() } as never))).toBe(ErrorCode.INVALID_VALUE);
    expect(doc.toJSON()).toEqual(before);
  });

  it('batch runs several writes as one transaction, all or nothing', () => {
    const doc = new StateDocument('d');
    const changes: Change[] = [];
    doc.onChange((c) => changes.push(c));
    const result = doc.batch((tx) => {
      tx.set('/a', { list: [] });
      tx.push('/a/list', 1, 2);
      expect(tx.get('/a/list')).toEqual([1, 2]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(changes).toHaveLength(1);
    expect(doc.toJSON()).toEqual({ a: { list: [1, 2] } });
    expect(() =>
      doc.batch((tx) => {
        tx.set('/b', 1);
        tx.delete('/nope');
      }),
    ).toThrow(/nothing at "\/nope"/);
    expect(doc.toJSON()).toEqual({ a: { list: [1, 2] } });
    expect(changes).toHaveLength(1);
  });

  it('a closed document refuses writes', () => {
    const doc = new StateDocument('d');
    doc.destroy();
    expect(codeOf(() => doc.set('/a', 1))).toBe(ErrorCode.DOCUMENT_CLOSED);
  });
});

describe('changes and path subscriptions', () => {
  it('reports local and remote changes with their origin', () => {
    const a = new StateDocument('a', { origin: 'alice' });
    const b = new StateDocument('b');
    const seen: Change[] = [];
    b.onChange((c) => seen.push(c));
    a.set('/x', 1);
    Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc), 'network');
    b.set('/y', 2);
    expect(seen.map((c) => [c.ops, c.origin, c.local])).toEqual([
      [[{ op: 'add', path: '/x', value: 1 }], 'network', false],
      [[{ op: 'add', path: '/y', value: 2 }], b, true],
    ]);
  });

  it('"*" matches one segment, "**" any depth; ancestors replacing a match notify too', () => {
    const doc = new StateDocument('d');
    doc.set('/agents', [{ status: 'idle', name: 'a' }]);
    const status: string[] = [];
    const deep: string[] = [];
    doc.subscribe('/agents/*/status', (c) => status.push(...c.ops.map((op) => op.path)));
    doc.subscribe('/agents/**', (c) => deep.push(...c.ops.map((op) => op.path)));
    doc.set('/agents/0/status', 'busy');
    doc.set('/agents/0/name', 'b');
    doc.set('/other', 1);
    doc.set('/agents', []);
    expect(status).toEqual(['/agents/0/status', '/agents']);
    expect(deep).toEqual(['/agents/0/status', '/agents/0/name', '/agents']);
  });

  it('unsubscribing stops delivery, and a throwing subscriber does not break the others', () => {
    const errors: unknown[] = [];
    const doc = new StateDocument('d', { onListenerError: (e) => errors.push(e) });
    const got: number[] = [];
    doc.subscribe('/**', () => {
      throw new Error('subscriber bug');
    });
    const stop = doc.subscribe('/n', (c) => got.push(c.ops.length));
    doc.set('/n', 1);
    stop();
    doc.set('/n', 2);
    expect(got).toEqual([1]);
    expect(errors).toHaveLength(2);
  });

  it('without an error handler a throwing listener is rethrown asynchronously, not swallowed', async () => {
    const doc = new StateDocument('d');
    doc.onChange(() => {
      throw new Error('loud');
    });
    const rethrown = new Promise<unknown>((resolve) => {
      const original = globalThis.queueMicrotask;
      const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
        try {
          fn();
        } catch (error) {
          resolve(error);
        }
        spy.mockRestore();
        return original;
      });
    });
    doc.set('/n', 1);
    expect(String(await rethrown)).toContain('loud');
  });

  it('rejects malformed patterns', () => {
    const doc = new StateDocument('d');
    expect(codeOf(() => doc.subscribe('agents', () => {}))).toBe(ErrorCode.INVALID_PATTERN);
  });
});
