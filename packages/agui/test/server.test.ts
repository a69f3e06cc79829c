/**
 * The routes mounted on the real `@ystate/server`: its route matching, auth-free open mode, and
 * its own `GET/PATCH .../state` beside ours.
 */

import { HttpAgent } from '@ag-ui/client';
import { EventType } from '@ag-ui/core';
import { AGUI_MEDIA_TYPE } from '@ag-ui/encoder';
import type { Engine, Json } from '@ystate/core';
import { createServer, type YStateServer } from '@ystate/server';
import fjp from 'fast-json-patch';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aguiRoutes } from '../src/index.js';
import { createEngine, readSse } from './helpers.js';

let engine: Engine;
let server: YStateServer;
let base: string;

beforeEach(async () => {
  engine = createEngine();
  server = createServer({ engine, routes: aguiRoutes(engine), logger: pino({ level: 'silent' }) });
  const { port } = await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterEach(async () => {
  await server.close();
  await engine.close();
});

const url = (docId: string, what: string) => `${base}/api/docs/${encodeURIComponent(docId)}/${what}`;

async function patch(docId: string, ops: unknown[], ifMatch?: number): Promise<number> {
  const response = await fetch(url(docId, 'state'), {
    method: 'PATCH',
    headers: {
      'content-type': 'application/json-patch+json',
      ...(ifMatch === undefined ? {} : { 'if-match': String(ifMatch) }),
    },
    body: JSON.stringify(ops),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { seq: number }).seq;
}

describe('on @ystate/server', () => {
  it('HttpAgent through /agui ends with the state GET .../state answers, after concurrent HTTP PATCHes', async () => {
    const docId = 'teams/a b';
    const first = await patch(docId, [{ op: 'add', path: '/todos', value: ['one', 'two'] }]);
    const agent = new HttpAgent({ url: url(docId, 'agui') });
    let snapshot: () => void = () => undefined;
    const gotSnapshot = new Promise<void>((resolve) => {
      snapshot = resolve;
    });
    const running = agent.runAgent(
      { forwardedProps: { ystate: { idleMs: 1000 } } },
      {
        onStateSnapshotEvent: () => {
          snapshot();
        },
      },
    );
    await gotSnapshot;
    await Promise.all([
      patch(docId, [{ op: 'add', path: '/todos/1', value: 'stale base' }], first),
      patch(docId, [{ op: 'add', path: '/todos/-', value: 'three' }]),
      patch(docId, [{ op: 'add', path: '/done', value: false }]),
    ]);
    await running;
    const state = await (await fetch(url(docId, 'state'))).json();
    expect(agent.state).toEqual(state);
    expect(state).toMatchObject({ done: false });
  });

  it('serves GET .../events as SSE', async () => {
    await patch('d', [{ op: 'add', path: '/n', value: 0 }]);
    const response = await fetch(url('d', 'events'));
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const writing = patch('d', [{ op: 'replace', path: '/n', value: 1 }]);
    let state: Json = null;
    await readSse(response, (event) => {
      state =
        event.type === EventType.STATE_SNAPSHOT
          ? (event.snapshot as Json)
          : (fjp.applyPatch(state, event.delta as fjp.Operation[], true, false).newDocument as Json);
      return JSON.stringify(state) === '{"n":1}';
    });
    await writing;
    expect(state).toEqual({ n: 1 });
  });

  it('answers /agui in SSE unless the client names the protobuf type: */* (curl, fetch) gets SSE', async () => {
    const body = JSON.stringify({
      threadId: 't',
      runId: 'r',
      state: {},
      messages: [],
      tools: [],
      context: [],
      forwardedProps: {},
    });
    const run = (accept: string) =>
      fetch(url('d', 'agui'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body,
      });
    const anything = await run('*/*');
    expect(anything.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await anything.body?.cancel();
    const protobuf = await run(AGUI_MEDIA_TYPE);
    expect(protobuf.headers.get('content-type')).toBe(AGUI_MEDIA_TYPE);
    await protobuf.body?.cancel();
  });
});
