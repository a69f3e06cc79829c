/**
 * Bad input over WebSocket and HTTP: every case gets its documented close code or error, the server
 * stays up, and the log is unchanged.
 */

import { Engine, ErrorCode, MemoryUpdateLog, YStateError } from '@ystate/core';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ServerHooks } from '../src/index.js';
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from '../src/protocol.js';
import {
  connect,
  fetchJson,
  patchState,
  rawClient,
  startServer,
  synced,
  type TestServer,
  within,
} from './helpers.js';

/** A document with some content, as one update (client id fixed so the bytes are the same every run). */
function baseState(): { doc: Y.Doc; update: Uint8Array; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  doc.clientID = 7;
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  const state = doc.getMap('state');
  state.set('a', 1);
  state.set('t', new Y.Text('hello'));
  (state.get('t') as Y.Text).insert(2, 'XYZ');
  (state.get('t') as Y.Text).delete(0, 2);
  return { doc, update: Y.encodeStateAsUpdate(doc), updates };
}

/**
 * A corrupt update (the Y.Text creation of `baseState` with one byte changed) that decodes and
 * applies to an empty document, yet makes Yjs throw when applied after the update before it: the
 * engine's own check (decoding) lets it through, and the log would hold an entry no one can load.
 */
function poisonedUpdate(updates: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(updates[1] as Uint8Array);
  bytes[18] = 2;
  expect(() => Y.decodeUpdate(bytes)).not.toThrow();
  expect(() => Y.applyUpdate(new Y.Doc(), bytes)).not.toThrow();
  const live = new Y.Doc();
  Y.applyUpdate(live, updates[0] as Uint8Array);
  expect(() => Y.applyUpdate(live, bytes)).toThrow();
  return bytes;
}

/** Asserts the server still answers and a real client still syncs. */
async function stillServing(server: TestServer, docId = 'doc'): Promise<void> {
  expect((await fetchJson(`${server.http}/healthz`)).status).toBe(200);
  const client = connect(server.ws, docId);
  await synced(client);
  client.provider.destroy();
}

async function opened(server: TestServer, docId = 'doc') {
  const raw = rawClient(`${server.ws}/${docId}`);
  await raw.opened;
  return raw;
}

describe('bad WebSocket input', () => {
  it('random frames: each is answered with 4400 INVALID_MESSAGE or handled; the log never changes', async () => {
    const server = await startServer();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 96 }), async (bytes) => {
        const raw = await opened(server);
        raw.send(bytes);
        // Either the frame closed the connection, or it was a message the server could answer.
        const trip = raw.roundTrip().then(
          () => 'open' as const,
          () => 'no answer' as const,
        );
        const outcome = await Promise.race([raw.closed, trip]);
        if (outcome === 'no answer') throw new Error(`no answer and no close after ${bytes}`);
        if (outcome !== 'open') expect(outcome.code).toBe(4400);
        raw.ws.terminate();
        expect(await server.log.head('doc')).toBe(0);
      }),
      { numRuns: 150, seed: 42 },
    );
    await stillServing(server);
  });

  it('truncated frames, unknown types, trailing bytes and text frames close with 4400 INVALID_MESSAGE', async () => {
    const server = await startServer();
    const valid = encodeUpdate(baseState().update);
    const cases: (Uint8Array | string)[] = [
      valid.slice(0, valid.length - 3),
      valid.slice(0, 2),
      new Uint8Array([0]),
      new Uint8Array([0, 9, 0]),
      new Uint8Array([7]),
      new Uint8Array([200, 1, 2]),
      new Uint8Array([...encodeSyncStep1(new Uint8Array([0])), 1]),
      encodeAwareness(new Uint8Array([1, 2, 3])),
      'text frame',
    ];
    for (const frame of cases) {
      const raw = await opened(server);
      raw.send(frame);
      expect(await raw.closed).toEqual({ code: 4400, reason: 'INVALID_MESSAGE' });
    }
    expect(await server.log.head('doc')).toBe(0);
    await stillServing(server);
  });

  it('corrupt Yjs updates close with 4400 INVALID_UPDATE, even ones that decode but break the document', async () => {
    const { update, updates } = baseState();
    const server = await startServer();
    const writer = await opened(server);
    writer.send(encodeUpdate(updates[0] as Uint8Array));
    await writer.roundTrip();
    expect(await server.log.head('doc')).toBe(1);

    const garbage = new Uint8Array([1, 1, 200, 3, 0, 4, 99, 99]);
    const truncated = update.slice(0, update.length - 4);
    for (const corrupt of [garbage, truncated, poisonedUpdate(updates)]) {
      const raw = await opened(server);
      raw.send(encodeUpdate(corrupt));
      expect(await raw.closed).toEqual({ code: 4400, reason: 'INVALID_UPDATE' });
    }
    // Refused means nothing happened: none of them reached the log or the document (the poisoned
    // one used to leave what Yjs integrated before it threw), and the log loads to the live state.
    expect(await server.log.head('doc')).toBe(1);
    expect(await server.engine.get('doc')).toEqual({ a: 1 });
    const fresh = new Engine({ log: server.log });
    const reloaded = await fresh.open('doc');
    expect(reloaded.toJSON()).toEqual(server.engine.registry.get('doc')?.toJSON());
    expect(await fresh.get('doc', '/a')).toBe(1);
    await fresh.close();
    writer.send(encodeUpdate(update));
    await writer.roundTrip();
    expect(await server.engine.get('doc', '/t')).toBe('XYZllo');
    await stillServing(server);
  });

  it('messages over maxMessageBytes close with 4413 MESSAGE_TOO_LARGE (far larger ones: ws 1009)', async () => {
    const server = await startServer({ limits: { maxMessageBytes: 1024 } });
    const big = new Y.Doc();
    big.getText('t').insert(0, 'x'.repeat(1500));
    const raw = await opened(server);
    raw.send(encodeUpdate(Y.encodeStateAsUpdate(big)));
    expect(await raw.closed).toEqual({ code: 4413, reason: 'MESSAGE_TOO_LARGE' });
    const huge = await opened(server);
    huge.send(new Uint8Array(4096));
    expect((await huge.closed).code).toBe(1009);
    expect(await server.log.head('doc')).toBe(0);
    await stillServing(server);
  });

  it('a client over its message rate is closed with 4429 RATE_LIMITED', async () => {
    const server = await startServer({ limits: { messagesPerSecond: 20 } });
    const raw = await opened(server);
    const query = new Uint8Array([3]);
    for (let i = 0; i < 40; i++) raw.send(query);
    expect(await raw.closed).toEqual({ code: 4429, reason: 'RATE_LIMITED' });
    await stillServing(server);
  });

  it('a client that stops reading is disconnected with 4503 SLOW_CONSUMER once its send buffer is over the bound', async () => {
    const metrics = new Registry();
    const hooks: ServerHooks = {};
    const disconnected = new Promise<{ code: number; reason: string }>((resolve) => {
      hooks.onDisconnect = ({ code, reason }) => resolve({ code, reason });
    });
    const server = await startServer({ limits: { maxBufferedBytes: 64 * 1024 }, hooks, metrics });
    const slow = await opened(server);
    await slow.roundTrip();
    // Stop reading: the kernel buffers fill, then the server's send buffer.
    slow.ws.pause();
    const slowConsumers = async () =>
      (await metrics.getSingleMetric('ystate_errors_total')?.get())?.values.find(
        (v) => v.labels.code === 'SLOW_CONSUMER',
      )?.value ?? 0;
    const chunk = 'y'.repeat(256 * 1024);
    for (let i = 0; (await slowConsumers()) === 0; i++) {
      expect(i, 'patches sent before the server noticed').toBeLessThan(200);
      const { status } = await patchState(server.http, 'doc', [{ op: 'add', path: `/k${i}`, value: chunk }]);
      expect(status).toBe(200);
    }
    expect(await within(disconnected, 'the slow client to be dropped')).toEqual({
      code: 4503,
      reason: 'SLOW_CONSUMER',
    });
    await stillServing(server);
  });

  it('a peer that stops answering pings is dropped', async () => {
    const server = await startServer({ limits: { pingIntervalMs: 50 } });
    const dead = rawClient(`${server.ws}/doc`, { autoPong: false });
    await dead.opened;
    expect((await dead.closed).code).toBe(1006);
    const alive = await opened(server);
    // Three ping intervals later the answering client is still connected.
    for (let i = 0; i < 3; i++) await within(new Promise((r) => alive.ws.once('ping', r)), 'a ping');
    await alive.roundTrip();
  });

  it('refuses URLs that name no document (4400 INVALID_VALUE)', async () => {
    const server = await startServer();
    for (const path of ['/', '/%E0%A4%A']) {
      const raw = rawClient(`${server.ws}${path}`);
      expect(await raw.closed).toEqual({ code: 4400, reason: 'INVALID_VALUE' });
    }
  });

  it('a hook refusing a connection or a change closes with its code; nothing is logged', async () => {
    const server = await startServer({
      hooks: {
        onConnect({ docId }) {
          if (docId === 'locked')
            throw new YStateError({ code: ErrorCode.DOCUMENT_PAUSED, message: 'locked' });
        },
        onChange(payload) {
          if (payload.transport === 'websocket') {
            throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'read the rules first' });
          }
        },
      },
    });
    expect(await rawClient(`${server.ws}/locked`).closed).toEqual({ code: 4423, reason: 'DOCUMENT_PAUSED' });
    const raw = await opened(server);
    raw.send(encodeUpdate(baseState().update));
    expect(await raw.closed).toEqual({ code: 4400, reason: 'INVALID_VALUE' });
    expect(await server.log.head('doc')).toBe(0);
  });
});

describe('bad HTTP input', () => {
  it('invalid JSON, invalid patches and invalid pointers answer 400 with their code; nothing is logged', async () => {
    const server = await startServer();
    expect((await patchState(server.http, 'doc', [{ op: 'add', path: '/a', value: { b: 1 } }])).status).toBe(
      200,
    );
    const cases: [unknown, string][] = [
      ['{ not json', 'INVALID_PATCH'],
      [{ op: 'add', path: '/x', value: 1 }, 'INVALID_PATCH'],
      [[{ op: 'jump', path: '/x' }], 'INVALID_PATCH'],
      [[{ op: 'add', path: '/x' }], 'INVALID_PATCH'],
      [[{ op: 'move', path: '/x' }], 'INVALID_PATCH'],
      [[{ op: 'add', path: 'no-slash', value: 1 }], 'INVALID_POINTER'],
      [[{ op: 'add', path: '/a/b~2', value: 1 }], 'INVALID_POINTER'],
      [[{ op: 'replace', path: '/missing', value: 1 }], 'PATH_NOT_FOUND'],
      [
        [
          { op: 'add', path: '/z', value: 1 },
          { op: 'test', path: '/a/b', value: 2 },
        ],
        'PATCH_TEST_FAILED',
      ],
    ];
    for (const [body, code] of cases) {
      const answer = await patchState(server.http, 'doc', body);
      expect(answer.body, JSON.stringify(body)).toMatchObject({ error: { code } });
      expect(answer.status).toBe(code === 'PATH_NOT_FOUND' ? 404 : code === 'PATCH_TEST_FAILED' ? 409 : 400);
    }
    for (const [query, code] of [
      ['path=no-slash', 'INVALID_POINTER'],
      ['at=yesterday-ish', 'INVALID_VALUE'],
    ] as const) {
      expect((await fetchJson(`${server.http}/api/docs/doc/state?${query}`)).body).toMatchObject({
        error: { code },
      });
    }
    expect((await fetchJson(`${server.http}/api/docs/doc/history?from=-1`)).body).toMatchObject({
      error: { code: 'INVALID_VALUE' },
    });
    expect(await server.log.head('doc')).toBe(1);
    expect(await server.engine.get('doc')).toEqual({ a: { b: 1 } });
  });

  it('bodies over maxBodyBytes answer 413, other media types 415, unknown routes 404, wrong methods 405', async () => {
    const server = await startServer({ limits: { maxBodyBytes: 100 } });
    const big = await patchState(server.http, 'doc', [{ op: 'add', path: '/a', value: 'x'.repeat(200) }]);
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'MESSAGE_TOO_LARGE' } } });
    const wrongType = await patchState(server.http, 'doc', '[]', { 'content-type': 'text/plain' });
    expect(wrongType).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await fetchJson(`${server.http}/nothing/here`)).toMatchObject({
      status: 404,
      body: { error: { code: 'ROUTE_NOT_FOUND' } },
    });
    const wrongMethod = await fetchJson(`${server.http}/api/docs/doc/history`, { method: 'DELETE' });
    expect(wrongMethod).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetchJson(`${server.http}/healthz`, { method: 'POST' })).headers.get('allow')).toBe(
      'GET, HEAD',
    );
    expect(await server.log.head('doc')).toBe(0);
  });

  it('answers HEAD wherever it answers GET: the same status and headers, no body', async () => {
    const server = await startServer();
    await patchState(server.http, 'doc', [{ op: 'add', path: '/a', value: 1 }]);
    for (const path of [
      '/api/docs/doc/state',
      '/api/docs/doc/state?path=/a',
      '/api/docs/doc/history',
      '/healthz',
    ]) {
      const get = await fetch(`${server.http}${path}`);
      const head = await fetch(`${server.http}${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(get.status);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(head.headers.get('etag'), path).toBe(get.headers.get('etag'));
      expect(await head.text(), path).toBe('');
      expect((await get.text()).length, path).toBeGreaterThan(0);
    }
    const missing = await fetch(`${server.http}/api/docs/doc/state?path=/nothing`, { method: 'HEAD' });
    expect(missing.status).toBe((await fetch(`${server.http}/api/docs/doc/state?path=/nothing`)).status);
  });

  it('an extra route that throws a plain error answers 500 INTERNAL_ERROR without its details', async () => {
    const server = await startServer({
      routes: [
        {
          method: 'GET',
          path: '/api/docs/:docId/boom',
          access: 'read',
          async handler() {
            throw new Error('secret internals');
          },
        },
      ],
    });
    expect(await fetchJson(`${server.http}/api/docs/doc/boom`)).toMatchObject({
      status: 500,
      body: { error: { code: 'INTERNAL_ERROR', message: 'internal error' } },
    });
    expect((await fetchJson(`${server.http}/healthz`)).status).toBe(200);
  });

  it('a log that refuses appends closes the writer with 4500 STORAGE_FAILED and changes nothing', async () => {
    const log = new MemoryUpdateLog();
    const engine = new Engine({ log, onError: () => undefined });
    const server = await startServer({ engine });
    Object.assign(log, {
      append: async () => {
        throw new Error('disk on fire');
      },
    });
    const raw = await opened(server);
    const update = new Y.Doc();
    update.getMap('state').set('x', 1);
    raw.send(encodeUpdate(Y.encodeStateAsUpdate(update)));
    expect(await raw.closed).toEqual({ code: 4500, reason: 'STORAGE_FAILED' });
    expect(await engine.get('doc')).toEqual({});
    // The document's failure stays with it, and is counted by its code.
    const metrics = await fetchJson(`${server.http}/metrics`);
    expect(String(metrics.body)).toMatch(/ystate_errors_total\{code="STORAGE_FAILED"\} [1-9]/);
    await engine.close().catch(() => undefined);
  });
});
