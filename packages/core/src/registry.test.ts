import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from './errors.js';
import { DocumentRegistry } from './registry.js';
import { type Change, StateDocument } from './state-document.js';

describe('DocumentRegistry', () => {
  it('opens each document once however many callers ask, lists and closes them, and reports events', async () => {
    const registry = new DocumentRegistry({ idleTimeoutMs: Number.POSITIVE_INFINITY });
    const events: string[] = [];
    registry.on('opened', (doc) => events.push(`opened ${doc.docId}`));
    registry.on('changed', (change) => events.push(`changed ${change.docId} ${change.ops[0]?.path}`));
    registry.on('closed', (docId) => events.push(`closed ${docId}`));
    const [a, b] = await Promise.all([registry.open('p/1'), registry.open('p/1')]);
    expect(a).toBe(b);
    await registry.open('p/2');
    expect(registry.list().sort()).toEqual(['p/1', 'p/2']);
    expect(registry.get('p/1')).toBe(a);
    a.set('/x', 1);
    registry.close('p/1');
    expect(a.isDestroyed).toBe(true);
    expect(registry.get('p/1')).toBeUndefined();
    expect(events).toEqual(['opened p/1', 'opened p/2', 'changed p/1 /x', 'closed p/1']);
  });

  it('forwards changes only while someone listens for them: unobserved documents build no patches', async () => {
    const registry = new DocumentRegistry({ idleTimeoutMs: Number.POSITIVE_INFINITY });
    const doc = await registry.open('p/1');
    expect(doc.observed).toBe(false);
    const paths: string[] = [];
    const listener = (change: Change): void => void paths.push(change.ops[0]?.path ?? '');
    registry.on('changed', listener);
    expect(doc.observed).toBe(true);
    doc.set('/a', 1);
    const later = await registry.open('p/2');
    later.set('/b', 2);
    registry.off('changed', listener);
    expect([doc.observed, later.observed]).toEqual([false, false]);
    doc.set('/c', 3);
    expect(paths).toEqual(['/a', '/b']);
    registry.closeAll();
  });

  it('create writes an initial state and refuses an id that is already open', async () => {
    const registry = new DocumentRegistry();
    const doc = await registry.create('d', { title: 'first' });
    expect(doc.toJSON()).toEqual({ title: 'first' });
    await expect(registry.create('d')).rejects.toMatchObject({ code: ErrorCode.DOCUMENT_EXISTS });
    registry.closeAll();
  });

  it('evicts a document once nobody has held it for the idle timeout, unless the hook keeps it', async () => {
    vi.useFakeTimers();
    try {
      let keep = true;
      const asked: string[] = [];
      const registry = new DocumentRegistry({
        idleTimeoutMs: 1000,
        beforeEvict: (doc) => {
          asked.push(doc.docId);
          return !keep;
        },
      });
      await registry.open('d');
      await registry.open('d');
      registry.release('d');
      await vi.advanceTimersByTimeAsync(5000);
      expect(asked).toEqual([]); // still held once
      registry.release('d');
      await vi.advanceTimersByTimeAsync(999);
      expect(asked).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(asked).toEqual(['d']);
      expect(registry.get('d')).toBeDefined(); // the hook kept it
      keep = false;
      await registry.open('d');
      registry.release('d');
      await vi.advanceTimersByTimeAsync(1000);
      expect(registry.get('d')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('re-opening cancels a pending eviction', async () => {
    vi.useFakeTimers();
    try {
      const registry = new DocumentRegistry({ idleTimeoutMs: 1000 });
      const doc = await registry.open('d');
      registry.release('d');
      await vi.advanceTimersByTimeAsync(500);
      expect(await registry.open('d')).toBe(doc);
      await vi.advanceTimersByTimeAsync(5000);
      expect(registry.get('d')).toBe(doc);
      registry.closeAll();
    } finally {
      vi.useRealTimers();
    }
  });

  it('loads documents through the load hook and reports a failing beforeEvict as an error', async () => {
    const registry = new DocumentRegistry({
      idleTimeoutMs: 1,
      load: (docId) => {
        const doc = new StateDocument(docId);
        doc.set('/loaded', true);
        return doc;
      },
      beforeEvict: () => {
        throw new Error('flush failed');
      },
    });
    const failed = new Promise<unknown>((resolve) => registry.on('error', resolve));
    const doc = await registry.open('d');
    expect(doc.get('/loaded')).toBe(true);
    registry.release('d');
    expect(String(await failed)).toContain('flush failed');
    expect(registry.get('d')).toBe(doc);
    registry.closeAll();
  });
});
