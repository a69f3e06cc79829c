import { HttpAgent } from '@ag-ui/client';
import { EventType } from '@ag-ui/core';
import { type Engine, StateDocument } from '@ystate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { aguiRoutes, applyAgentEvents, type RunEnd } from '../src/index.js';
import { createEngine, serveRoutes, type TestServer } from './helpers.js';

let engine: Engine;
let server: TestServer;
let ends: RunEnd[];
let onEnd: (end: RunEnd) => void;

beforeEach(async () => {
  engine = createEngine();
  ends = [];
  onEnd = () => undefined;
  server = await serveRoutes(
    aguiRoutes(engine, {
      onRunEnd: (end) => {
        ends.push(end);
        onEnd(end);
      },
    }),
  );
});
afterEach(async () => {
  await server.close();
  await engine.close();
});

/** Resolves with the agent's first state (the snapshot). Subscribe before the run starts. */
function firstState(agent: HttpAgent): Promise<unknown> {
  return new Promise((resolve) => {
    const { unsubscribe } = agent.subscribe({
      onStateChanged: ({ state }) => {
        unsubscribe();
        resolve(state);
      },
    });
  });
}

describe('the real @ag-ui/client HttpAgent through POST /agui', () => {
  it('after concurrent edits (clients, PATCHes, an agent on a stale base) its state equals the document', async () => {
    const docId = 'projects/7';
    const { seq: base } = await engine.write(docId, (tx) =>
      tx.set('', { todos: ['one', 'two'], notes: { text: 'hello' }, pad: 'x'.repeat(300) }),
    );
    // A y-websocket-style client: its own Y.Doc, synced from the document, sending updates.
    const client = new StateDocument('client');
    Y.applyUpdate(client.ydoc, (await engine.stateAt(docId, { seq: base })).update);

    const agent = new HttpAgent({ url: server.docUrl(docId, 'agui') });
    const snapshot = firstState(agent);
    const types: string[] = [];
    const running = agent.runAgent(
      { forwardedProps: { ystate: { idleMs: 1000 } } },
      { onEvent: ({ event }) => void types.push(event.type) },
    );
    expect(await snapshot).toEqual(await engine.get(docId));

    const before = Y.encodeStateVector(client.ydoc);
    client.insert('/todos/0', 'from the client');
    client.set('/notes/text', 'hello, world');
    await Promise.all([
      engine.receive(docId, Y.encodeStateAsUpdate(client.ydoc, before), { origin: 'client-1' }),
      engine.applyPatch(docId, [{ op: 'add', path: '/todos/-', value: 'from a PATCH' }], { origin: 'http' }),
      engine.applyPatch(docId, [{ op: 'replace', path: '/todos/1', value: 'ONE' }], {
        baseSeq: base,
        origin: 'http',
      }),
      applyAgentEvents(
        engine,
        docId,
        [
          { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' },
          { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/2', value: 'from an agent' }] },
          { type: EventType.STATE_DELTA, delta: [{ op: 'remove', path: '/notes' }] },
          { type: EventType.RUN_FINISHED, threadId: 't', runId: 'r' },
        ],
        { baseSeq: base },
      ),
      engine.write(docId, (tx) => tx.set('/count', 1)),
    ]);

    await running; // the run ends once idle for 1 s
    const document = await engine.get(docId);
    expect(agent.state).toEqual(document);
    expect(document).toMatchObject({ count: 1 });
    expect(types[0]).toBe(EventType.RUN_STARTED);
    expect(types).toContain(EventType.STATE_DELTA);
    expect(types.at(-1)).toBe(EventType.RUN_FINISHED);
    expect(ends).toEqual([
      { docId, threadId: agent.threadId, runId: expect.any(String), reason: 'finished', detail: 'idle' },
    ]);
  });

  it('ends with RUN_FINISHED right after the snapshot when asked for idleMs 0', async () => {
    await engine.write('d', (tx) => tx.set('/a', 1));
    const agent = new HttpAgent({ url: server.docUrl('d', 'agui') });
    const seen: string[] = [];
    await agent.runAgent(
      { forwardedProps: { ystate: { idleMs: 0 } } },
      { onEvent: ({ event }) => void seen.push(event.type) },
    );
    expect(seen).toEqual([EventType.RUN_STARTED, EventType.STATE_SNAPSHOT, EventType.RUN_FINISHED]);
    expect(agent.state).toEqual({ a: 1 });
  });

  it('the client aborting ends the run on the server side', async () => {
    await engine.write('d', (tx) => tx.set('/a', 1));
    const agent = new HttpAgent({ url: server.docUrl('d', 'agui') });
    const ended = new Promise<RunEnd>((resolve) => {
      onEnd = resolve;
    });
    const snapshot = firstState(agent);
    const running = agent.runAgent().catch(() => undefined);
    await snapshot;
    agent.abortRun();
    await running;
    expect(await ended).toMatchObject({ docId: 'd', reason: 'aborted', detail: 'client' });
    // The document's feed was released: later writes still work and a new run sees them.
    await engine.write('d', (tx) => tx.set('/a', 2));
    const again = new HttpAgent({ url: server.docUrl('d', 'agui') });
    await again.runAgent({ forwardedProps: { ystate: { idleMs: 0 } } });
    expect(again.state).toEqual({ a: 2 });
  });

  it('answers a body that is not a RunAgentInput with a JSON error', async () => {
    const response = await fetch(server.docUrl('d', 'agui'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: 1 }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'INVALID_VALUE' } });
  });
});
