import { type BaseEvent, EventType } from '@ag-ui/core';
import type { Engine, Json } from '@ystate/core';
import fjp from 'fast-json-patch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aguiRoutes, documentEvents } from '../src/index.js';
import { createEngine, jsonAt, readSse, seqOfEvent, serveRoutes } from './helpers.js';

const { applyPatch } = fjp;

/** Makes a document large enough that small deltas beat snapshots. */
const PAD = 'x'.repeat(500);

let engine: Engine;
beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  await engine.close();
});

/** Takes events from an iterator one at a time. */
function reader(iterable: AsyncIterable<BaseEvent>) {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    next: async () => {
      const { value, done } = await iterator.next();
      if (done) throw new Error('stream ended');
      return value;
    },
    stop: () => iterator.return?.(),
  };
}

/** Applies a state event to a consumer's state the way @ag-ui/client does. */
function applyEvent(state: Json, event: BaseEvent): Json {
  if (event.type === EventType.STATE_SNAPSHOT) return event.snapshot as Json;
  if (event.type === EventType.STATE_DELTA) {
    return applyPatch(state, event.delta as fjp.Operation[], true, false).newDocument as Json;
  }
  throw new Error(`not a state event: ${event.type}`);
}

describe('documentEvents', () => {
  it('starts with a snapshot carrying the seq it reflects, then one delta per committed change', async () => {
    await engine.write('d', (tx) => tx.set('/todos', ['a']));
    await engine.write('d', (tx) => tx.set('/pad', PAD));
    const events = reader(documentEvents(engine, 'd'));
    const snapshot = await events.next();
    expect(snapshot).toMatchObject({ type: EventType.STATE_SNAPSHOT, snapshot: { todos: ['a'], pad: PAD } });
    expect(seqOfEvent(snapshot)).toBe(2);

    const { seq } = await engine.write('d', (tx) => tx.push('/todos', 'b'));
    const delta = await events.next();
    expect(delta).toMatchObject({
      type: EventType.STATE_DELTA,
      delta: [{ op: 'add', path: '/todos/1', value: 'b' }],
    });
    expect(seqOfEvent(delta)).toBe(seq);
    await events.stop();
  });

  it('batches the changes of one turn into one delta and coalesces redundant operations', async () => {
    await engine.write('d', (tx) => tx.set('/n', 0));
    await engine.write('d', (tx) => tx.set('/pad', PAD));
    const events = reader(documentEvents(engine, 'd'));
    await events.next();
    // Three writes in one turn: three entries, one delta.
    const writes = [1, 2, 3].map((n) => engine.write('d', (tx) => tx.set('/n', n)));
    const added = engine.write('d', (tx) => tx.set('/tmp', { x: 1 }));
    const removed = engine.write('d', (tx) => tx.delete('/tmp'));
    const seqs = await Promise.all([...writes, added, removed]);
    const delta = await events.next();
    expect(delta.type).toBe(EventType.STATE_DELTA);
    expect(delta.delta).toEqual([{ op: 'replace', path: '/n', value: 3 }]);
    expect(seqOfEvent(delta)).toBe(Math.max(...seqs.map((s) => s.seq)));
    await events.stop();
  });

  it('streams a subtree: ops below it rebased, a replaced ancestor or shifted index gives a fresh snapshot', async () => {
    await engine.write('d', (tx) => tx.set('/todos', [{ title: 'a' }, { title: 'b', pad: PAD }]));
    const events = reader(documentEvents(engine, 'd', { path: '/todos/1' }));
    expect((await events.next()).snapshot).toEqual({ title: 'b', pad: PAD });

    await engine.write('d', (tx) => tx.set('/todos/1/title', 'B'));
    expect((await events.next()).delta).toEqual([{ op: 'replace', path: '/title', value: 'B' }]);

    // Unrelated changes produce nothing; an insert before index 1 moves the subtree: snapshot.
    await engine.write('d', (tx) => tx.set('/other', 1));
    await engine.write('d', (tx) => tx.insert('/todos/0', { title: 'first' }));
    const moved = await events.next();
    expect(moved.type).toBe(EventType.STATE_SNAPSHOT);
    expect(moved.snapshot).toEqual({ title: 'a' });

    await engine.write('d', (tx) => tx.set('/todos', []));
    const gone = await events.next();
    expect(gone).toMatchObject({ type: EventType.STATE_SNAPSHOT, snapshot: null });
    await events.stop();
  });

  it('sends a snapshot instead of a delta larger than the snapshot', async () => {
    await engine.write('d', (tx) => tx.set('/items', [1, 2, 3, 4, 5, 6, 7, 8]));
    const events = reader(documentEvents(engine, 'd'));
    await events.next();
    // Removing every element: eight `remove` ops are longer than `{"items":[]}`.
    await engine.write('d', (tx) => tx.set('/items', []));
    const next = await events.next();
    expect(next).toMatchObject({ type: EventType.STATE_SNAPSHOT, snapshot: { items: [] } });
    await events.stop();
  });

  it('resynchronises a consumer that fell behind with a snapshot of the state by then', async () => {
    await engine.write('d', (tx) => tx.set('/n', 0));
    const events = reader(documentEvents(engine, 'd', { maxQueue: 2 }));
    let state = applyEvent(null, await events.next());
    for (let n = 1; n <= 10; n++) await engine.write('d', (tx) => tx.set(`/k${n}`, n));
    const next = await events.next();
    expect(next.type).toBe(EventType.STATE_SNAPSHOT);
    state = applyEvent(state, next);
    expect(state).toEqual(await engine.get('d'));
    expect(seqOfEvent(next)).toBe(11);
    await engine.write('d', (tx) => tx.set('/after', true));
    state = applyEvent(state, await events.next());
    expect(state).toEqual(await engine.get('d'));
    await events.stop();
  });

  it('ends when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: BaseEvent[] = [];
    let first: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      first = resolve;
    });
    const done = (async () => {
      for await (const event of documentEvents(engine, 'd', { signal: controller.signal })) {
        seen.push(event);
        first();
      }
    })();
    await started;
    controller.abort();
    await done;
    expect(seen.map((e) => e.type)).toEqual([EventType.STATE_SNAPSHOT]);
  });

  it('ends when the engine closes the document', async () => {
    const events = documentEvents(engine, 'd');
    expect((await events.next()).value).toMatchObject({ type: EventType.STATE_SNAPSHOT });
    const ended = events.next();
    await engine.close();
    expect(await ended).toEqual({ done: true, value: undefined });
    // A stream opened afterwards starts afresh.
    engine = createEngine();
    await engine.write('d', (tx) => tx.set('/b', 2));
    const again = reader(documentEvents(engine, 'd'));
    expect((await again.next()).snapshot).toEqual({ b: 2 });
    await again.stop();
  });

  it('rejects a path that is not a JSON Pointer', async () => {
    await expect(documentEvents(engine, 'd', { path: 'nope' }).next()).rejects.toMatchObject({
      code: 'INVALID_POINTER',
    });
  });
});

describe('GET /api/docs/:docId/events', () => {
  it('serves the document (or ?path= subtree) as text/event-stream', async () => {
    const server = await serveRoutes(aguiRoutes(engine));
    try {
      await engine.write('projects/42', (tx) => tx.set('/todos', ['a', PAD]));
      const response = await fetch(`${server.docUrl('projects/42', 'events')}?path=/todos`);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const writing = (async () => {
        await engine.write('projects/42', (tx) => tx.push('/todos', 'b'));
        await engine.write('projects/42', (tx) => tx.set('/other', 1));
        await engine.write('projects/42', (tx) => tx.push('/todos', 'c'));
      })();
      let state: Json = null;
      const events = await readSse(response, (event) => {
        state = applyEvent(state, event);
        return jsonEqualTo(state, ['a', PAD, 'b', 'c']);
      });
      await writing;
      expect(events.map((e) => e.type)).toEqual([
        EventType.STATE_SNAPSHOT,
        ...events.slice(1).map(() => EventType.STATE_DELTA),
      ]);
      expect(state).toEqual(jsonAt((await engine.get('projects/42')) as Json, '/todos'));
    } finally {
      await server.close();
    }
  });

  it('answers a bad path with the JSON error body', async () => {
    const server = await serveRoutes(aguiRoutes(engine));
    try {
      const response = await fetch(`${server.docUrl('d', 'events')}?path=bad`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'INVALID_POINTER' } });
    } finally {
      await server.close();
    }
  });
});

function jsonEqualTo(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
