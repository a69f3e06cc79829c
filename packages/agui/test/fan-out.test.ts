/**
 * Serving many subscribers of one document: the streams the HTTP routes open share each event
 * (one snapshot per seq and subtree, one delta per batch) and its encoding, and an idle
 * subscriber holds no event it has sent.
 */

import { ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type BaseEvent, EventType } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import { AGUI_MEDIA_TYPE } from '@ag-ui/proto';
import { type Engine, StateDocument } from '@ystate/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DocumentStream } from '../src/document-stream.js';
import { EventSink } from '../src/http.js';
import { aguiRoutes, documentEvents } from '../src/index.js';
import { encodeEvent, seqOfEvent } from '../src/shared-events.js';
import { createEngine, serveRoutes, type TestServer } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let engine: Engine;
beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await engine.close();
});

const ITEMS = Array.from({ length: 50 }, (_, id) => ({ id, title: `item ${id}`, done: false }));

/** `count` streams of `docId` as the HTTP routes open them. */
function openShared(count: number, docId: string, path?: string): Promise<DocumentStream[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      DocumentStream.open(engine, docId, { shareValues: true, ...(path === undefined ? {} : { path }) }),
    ),
  );
}

function only(events: BaseEvent[]): BaseEvent {
  expect(events).toHaveLength(1);
  return events[0] as BaseEvent;
}

describe('shared streams (the HTTP routes)', () => {
  it('build one snapshot per seq and subtree: converted and stringified once for all subscribers', async () => {
    await engine.write('d', (tx) => tx.set('', { items: ITEMS, owner: 'ann' }));
    const reads = vi.spyOn(StateDocument.prototype, 'get');
    const stringify = vi.spyOn(JSON, 'stringify');
    const streams = await openShared(5, 'd');
    const sse = new EventEncoder();
    const snapshots = streams.map((stream) => only(stream.drain()));
    const frames = snapshots.map((event) => encodeEvent(event, sse, false));

    const [first] = snapshots as [BaseEvent];
    // One Yjs-to-JSON conversion of the document, one JSON.stringify of it, for five subscribers.
    expect(reads).toHaveBeenCalledTimes(1);
    expect(
      stringify.mock.calls.filter(([value]) => value === first.snapshot || value === first),
    ).toHaveLength(1);
    for (const snapshot of snapshots) expect(snapshot).toBe(first);
    for (const frame of frames) expect(frame).toBe(frames[0]);
    // The encoder's frame, after the event's id (its seq) so a client can resume with Last-Event-ID.
    expect(new TextDecoder().decode(frames[0])).toBe(`id: ${seqOfEvent(first)}\n${sse.encodeSSE(first)}`);

    // A subtree has its own; a stream starting after a change gets the state then.
    const [todos] = await openShared(1, 'd', '/items/3');
    expect(only((todos as DocumentStream).drain()).snapshot).toEqual(ITEMS[3]);
    await engine.write('d', (tx) => tx.set('/owner', 'bob'));
    const [later] = await openShared(1, 'd');
    const again = only((later as DocumentStream).drain());
    expect(again).not.toBe(first);
    expect(again.snapshot).toEqual({ items: ITEMS, owner: 'bob' });
    for (const stream of [...streams, todos, later]) stream?.close();
  });

  it('make one delta per batch for every subscriber of a subtree, encoded once per framing', async () => {
    await engine.write('d', (tx) => tx.set('', { items: ITEMS, owner: 'ann' }));
    const streams = await openShared(5, 'd');
    for (const stream of streams) stream.drain();
    const stringify = vi.spyOn(JSON, 'stringify');
    const { seq } = await engine.write('d', (tx) => tx.set('/items/7/done', true));
    await Promise.all(streams.map((stream) => stream.untilQueued(seq)));
    const deltas = streams.map((stream) => only(stream.drain()));
    const sse = new EventEncoder();
    const protobuf = new EventEncoder({ accept: AGUI_MEDIA_TYPE });
    const frames = deltas.map((event) => encodeEvent(event, sse, false));
    const binary = deltas.map((event) => encodeEvent(event, protobuf, true));

    const [delta] = deltas as [BaseEvent];
    // Measuring and framing the delta stringified its operations once, not once per subscriber.
    expect(stringify.mock.calls.filter(([value]) => value === delta.delta || value === delta)).toHaveLength(
      1,
    );
    expect(delta).toMatchObject({
      type: EventType.STATE_DELTA,
      delta: [{ op: 'replace', path: '/items/7/done' }],
    });
    for (const event of deltas) expect(event).toBe(delta);
    for (const frame of frames) expect(frame).toBe(frames[0]);
    for (const frame of binary) expect(frame).toBe(binary[0]);
    expect(new TextDecoder().decode(frames[0])).toBe(`id: ${seqOfEvent(delta)}\n${sse.encodeSSE(delta)}`);
    expect(binary[0]).toEqual(protobuf.encodeBinary(delta));
    for (const stream of streams) stream.close();
  });

  it('does not share with documentEvents, whose consumers may keep and change what they get', async () => {
    await engine.write('d', (tx) => tx.set('', { items: ITEMS }));
    const [shared] = await openShared(1, 'd');
    const a = documentEvents(engine, 'd');
    const b = documentEvents(engine, 'd');
    const first = (await a.next()).value as BaseEvent;
    const second = (await b.next()).value as BaseEvent;
    expect(first).not.toBe(second);
    (first.snapshot as { items: unknown[] }).items.length = 0;
    expect((second.snapshot as { items: unknown[] }).items).toHaveLength(50);
    expect(only((shared as DocumentStream).drain()).snapshot).toEqual({ items: ITEMS });
    await a.return();
    await b.return();
    shared?.close();
  });
});

describe('serving subscribers over HTTP', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await serveRoutes(aguiRoutes(engine, { idleMs: 60_000 }));
  });
  afterEach(async () => {
    await server.close();
  });

  /** An open SSE response read event by event. */
  function subscribe(response: Response) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const events: BaseEvent[] = [];
    return {
      async until(count: number): Promise<BaseEvent[]> {
        while (events.length < count) {
          const { done, value } = await reader.read();
          if (done) throw new Error('the stream ended');
          buffer += decoder.decode(value, { stream: true });
          const frames = buffer.split('\n\n');
          buffer = frames.pop() ?? '';
          for (const frame of frames) {
            const data = frame.split('\n').find((line) => line.startsWith('data: '));
            if (data !== undefined) events.push(JSON.parse(data.slice(6)) as BaseEvent);
          }
        }
        return events;
      },
      stop: () => reader.cancel().catch(() => undefined),
    };
  }

  it('writes the same bytes to every subscriber of the stream', async () => {
    await engine.write('d', (tx) => tx.set('', { items: ITEMS }));
    const written: unknown[] = [];
    const write = ServerResponse.prototype.write;
    vi.spyOn(ServerResponse.prototype, 'write').mockImplementation(function (
      this: ServerResponse,
      ...args: Parameters<ServerResponse['write']>
    ) {
      written.push(args[0]);
      return write.apply(this, args);
    });
    const subscribers = await Promise.all(
      [1, 2, 3].map(async () => subscribe(await fetch(server.docUrl('d', 'events')))),
    );
    for (const subscriber of subscribers) await subscriber.until(1);
    await engine.write('d', (tx) => tx.set('/items/2/done', true));
    for (const subscriber of subscribers) await subscriber.until(2);
    const frames = written.filter(
      (chunk) =>
        chunk instanceof Uint8Array &&
        new TextDecoder().decode(chunk.subarray(0, 40)).includes('"type":"STATE_'),
    );
    // Three snapshots and three deltas, in two distinct arrays.
    expect(frames).toHaveLength(6);
    expect(new Set(frames).size).toBe(2);
    for (const subscriber of subscribers) await subscriber.stop();
  });

  it('an idle subscriber holds no event it has sent (GET /events and POST /agui)', async () => {
    await engine.write('d', (tx) => tx.set('', { items: ITEMS }));
    const sent: WeakRef<BaseEvent>[] = [];
    const send = EventSink.prototype.send;
    // Not a vi.spyOn: a mock keeps its calls' arguments.
    EventSink.prototype.send = function (this: EventSink, event: BaseEvent) {
      sent.push(new WeakRef(event));
      return send.call(this, event);
    };
    try {
      const events = subscribe(await fetch(server.docUrl('d', 'events')));
      const run = subscribe(
        await fetch(server.docUrl('d', 'agui'), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({
            threadId: 't',
            runId: 'r',
            state: {},
            messages: [],
            tools: [],
            context: [],
            forwardedProps: {},
          }),
        }),
      );
      await events.until(1);
      await run.until(2); // RUN_STARTED, STATE_SNAPSHOT
      await engine.write('d', (tx) => tx.set('/items/4/done', true));
      expect((await events.until(2))[1]?.type).toBe(EventType.STATE_DELTA);
      expect((await run.until(3))[2]?.type).toBe(EventType.STATE_DELTA);

      // Both are idle now, waiting for the next change. Every event they sent can be collected.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const alive = sent.map((ref) => ref.deref()).filter((event) => event !== undefined);
      expect(alive.map((event) => event.type)).toEqual([]);
      await events.stop();
      await run.stop();
    } finally {
      EventSink.prototype.send = send;
    }
  });
});
