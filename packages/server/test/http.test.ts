/** The HTTP API: state and time travel, patches at a base version, history, health, metrics, extra routes, static files, hooks. */

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, ErrorCode, MemoryUpdateLog, YStateError } from '@ystate/core';
import jsonpatch from 'fast-json-patch';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type BroadcastPayload, type ExtraRoute, timeAppends } from '../src/index.js';
import { connect, defer, fetchJson, patchState, startServer, synced, until, within } from './helpers.js';

type Step = { seq: number; time: number; origin: string; kind: string; patch: jsonpatch.Operation[] };

/** Resolves once Date.now() has moved past `time` (entries written after it get a later time). */
async function clockPast(time: number): Promise<void> {
  while (Date.now() <= time) await new Promise((resolve) => setImmediate(resolve));
}

describe('HTTP API', () => {
  it('GET state: the whole document, a path, at a seq and at a time, with the seq as ETag', async () => {
    const { http } = await startServer();
    const doc = (query = '') => fetchJson(`${http}/api/docs/${encodeURIComponent('teams/a')}/state${query}`);

    expect(await doc()).toMatchObject({ status: 200, body: {} });
    expect(
      (await patchState(http, 'teams/a', [{ op: 'add', path: '/members', value: ['ann'] }])).body,
    ).toEqual({ seq: 1 });
    const afterFirst = Date.now();
    await clockPast(afterFirst);
    const second = await patchState(http, 'teams/a', [{ op: 'add', path: '/members/-', value: 'bob' }]);
    expect(second.body).toEqual({ seq: 2 });
    expect(second.headers.get('etag')).toBe('"2"');

    const now = await doc();
    expect(now.body).toEqual({ members: ['ann', 'bob'] });
    expect(now.headers.get('etag')).toBe('"2"');
    expect(now.headers.get('x-ystate-seq')).toBe('2');
    expect((await doc('?path=/members/1')).body).toBe('bob');
    expect(await doc('?path=/members/7')).toMatchObject({
      status: 404,
      body: { error: { code: 'PATH_NOT_FOUND' } },
    });

    const atSeq = await doc('?at=1');
    expect(atSeq.body).toEqual({ members: ['ann'] });
    expect(atSeq.headers.get('x-ystate-seq')).toBe('1');
    expect((await doc(`?at=${new Date(afterFirst).toISOString()}&path=/members`)).body).toEqual(['ann']);
    expect((await doc('?at=0')).body).toEqual({});
    expect((await doc('?at=9')).status).toBe(404);
    // Unencoded slashes name the same document.
    expect((await fetchJson(`${http}/api/docs/teams/a/state?path=/members/0`)).body).toBe('ann');
  });

  it("PATCH with If-Match: the patch means what its author saw, and lands at the author's index", async () => {
    const { http, engine } = await startServer();
    await patchState(http, 'list', [{ op: 'add', path: '/todos', value: ['a', 'b', 'c'] }]);
    const seen = await fetchJson(`${http}/api/docs/list/state`);
    const etag = seen.headers.get('etag') as string;
    // Meanwhile someone inserts at the front.
    await patchState(http, 'list', [{ op: 'add', path: '/todos/0', value: 'first' }]);

    // The author meant "after a" (index 1 of what they saw) and "at the end".
    const late = await patchState(
      http,
      'list',
      [
        { op: 'add', path: '/todos/1', value: 'after a' },
        { op: 'add', path: '/todos/4', value: 'after c' },
      ],
      { 'if-match': etag },
    );
    expect(late).toMatchObject({ status: 200, body: { seq: 3 } });
    expect(await engine.get('list', '/todos')).toEqual(['first', 'a', 'after a', 'b', 'c', 'after c']);

    // Without a base, the same index means the current state's.
    await patchState(http, 'list', [{ op: 'add', path: '/todos/1', value: 'now 1' }]);
    expect(await engine.get('list', '/todos/1')).toBe('now 1');
    // A test op checks what the author saw.
    const stale = await patchState(http, 'list', [{ op: 'test', path: '/todos/0', value: 'a' }], {
      'if-match': '"1"',
    });
    expect(stale.status).toBe(200);
    const wrong = await patchState(http, 'list', [{ op: 'test', path: '/todos/0', value: 'a' }]);
    expect(wrong).toMatchObject({ status: 409, body: { error: { code: 'PATCH_TEST_FAILED' } } });
    expect((await patchState(http, 'list', [], { 'if-match': 'soon' })).body).toMatchObject({
      error: { code: 'INVALID_VALUE' },
    });
  });

  it('GET history: each entry with a JSON Patch that fast-json-patch applies step by step', async () => {
    const { http, ws } = await startServer();
    await patchState(http, 'h', [{ op: 'add', path: '/items', value: [] }]);
    const client = connect(ws, 'h');
    await synced(client);
    const items = client.map.get('items') as import('yjs').Array<unknown>;
    items.push(['from ws']);
    await until(client.doc, () => items.length === 1);
    await patchState(http, 'h', [
      { op: 'add', path: '/items/0', value: { n: 1 } },
      { op: 'add', path: '/title', value: 'T' },
    ]);
    await patchState(http, 'h', [{ op: 'remove', path: '/items/1' }]);
    const done = (await fetchJson(`${http}/api/docs/h/state`)).body;

    const { status, body } = await fetchJson(`${http}/api/docs/h/history`);
    expect(status).toBe(200);
    const steps = body as Step[];
    expect(steps.map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    expect(steps[1]?.origin).toMatch(/^anonymous#/);
    expect(steps[0]?.origin).toBe('anonymous');
    let json: unknown = {};
    for (const step of steps) {
      expect(step.kind).toBe('update');
      json = jsonpatch.applyPatch(json, step.patch, true, false).newDocument;
      expect(json).toEqual((await fetchJson(`${http}/api/docs/h/state?at=${step.seq}`)).body);
    }
    expect(json).toEqual(done);
    const range = (await fetchJson(`${http}/api/docs/h/history?from=2&to=3`)).body as Step[];
    expect(range.map((s) => s.seq)).toEqual([2, 3]);
    expect((await fetchJson(`${http}/api/docs/empty/history`)).body).toEqual([]);
  });

  it('/healthz is up; /readyz turns 503 when the log is unreachable and lists alerts over threshold', async () => {
    const log = new MemoryUpdateLog();
    const timed = timeAppends({
      append: async (docId, entries) => {
        await new Promise((resolve) => setImmediate(resolve));
        return log.append(docId, entries);
      },
      read: (docId, range) => log.read(docId, range),
      head: (docId) => log.head(docId),
      latestCheckpoint: (docId, at) => log.latestCheckpoint(docId, at),
      storeCheckpoint: (docId, c) => log.storeCheckpoint(docId, c),
      prune: (docId, seq) => log.prune(docId, seq),
      docIds: () => log.docIds(),
      close: () => log.close(),
    });
    const engine = new Engine({ log: timed });
    defer(() => engine.close());
    const { http } = await startServer({ engine, alerts: { appendLatencyMs: 0 }, readyTimeoutMs: 100 });
    expect(await fetchJson(`${http}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await fetchJson(`${http}/readyz`)).toMatchObject({
      status: 200,
      body: { status: 'ready', alerts: [] },
    });

    await patchState(http, 'doc', [{ op: 'add', path: '/a', value: 1 }]);
    const alerting = await fetchJson(`${http}/readyz`);
    expect(alerting).toMatchObject({
      status: 200,
      body: { status: 'ready', alerts: [{ name: 'appendLatencyMs', thresholdMs: 0 }] },
    });

    log.head = async () => {
      throw new Error('connection refused');
    };
    expect(await fetchJson(`${http}/readyz`)).toMatchObject({
      status: 503,
      body: { status: 'not ready', log: { ok: false, error: 'connection refused' } },
    });
    log.head = () => new Promise<number>(() => undefined);
    expect(await fetchJson(`${http}/readyz`)).toMatchObject({
      status: 503,
      body: { log: { ok: false, error: 'the log did not answer within 100 ms' } },
    });
    expect((await fetchJson(`${http}/healthz`)).status).toBe(200);
  });

  it('/metrics serves the Prometheus text with every metric', async () => {
    const { http, ws } = await startServer();
    const client = connect(ws, 'm');
    await synced(client);
    client.text.insert(0, 'x');
    const watcher = connect(ws, 'm');
    await synced(watcher);
    await until(watcher.doc, () => watcher.text.toString() === 'x');
    await patchState(http, 'm', [{ op: 'add', path: '/y', value: 1 }]);
    await fetchJson(`${http}/api/docs/m/state?path=/nothing`);

    const { status, headers, body } = await fetchJson(`${http}/metrics`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    const text = body as string;
    for (const name of [
      'ystate_connections',
      'ystate_documents_open',
      'ystate_updates_received_total',
      'ystate_updates_sent_total',
      'ystate_updates_ignored_total',
      'ystate_awareness_dropped_total',
      'ystate_update_latency_seconds',
      'ystate_log_append_seconds',
      'ystate_bus_lag_seconds',
      'ystate_bus_gap_entries_total',
      'ystate_errors_total',
      'ystate_event_loop_delay_seconds',
      'ystate_http_requests_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/^ystate_connections 2$/m);
    expect(text).toMatch(/^ystate_updates_received_total\{transport="websocket"\} [1-9]/m);
    expect(text).toMatch(/^ystate_updates_received_total\{transport="http"\} 1$/m);
    expect(text).toMatch(/^ystate_errors_total\{code="PATH_NOT_FOUND"\} 1$/m);
    expect(text).toMatch(/^ystate_update_latency_seconds_count [1-9]/m);
    expect(text).toMatch(/^ystate_event_loop_delay_seconds\{quantile="0.99"\} /m);
  });
});

describe('extra routes', () => {
  const secret = 'route-secret-route-secret';
  const sign = (docs: Record<string, 'read' | 'write'>) =>
    new SignJWT({ ystate: { docs } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('agent-7')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));

  it('are authorized, get the decoded docId, the principal and a signal that aborts when the client leaves', async () => {
    const seen: { docId: string; principal: string | undefined }[] = [];
    let aborted!: () => void;
    const abortedOnce = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    const events: ExtraRoute = {
      method: 'GET',
      path: '/api/docs/:docId/events',
      access: 'read',
      async handler(_req, res, { docId, principal, signal }) {
        seen.push({ docId, principal: principal?.id });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ docId })}\n\n`);
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        aborted();
        res.end();
      },
    };
    const agui: ExtraRoute = {
      method: 'POST',
      path: '/api/docs/:docId/agui',
      access: 'write',
      async handler(_req, res, { docId }) {
        if (docId === 'refuse') throw new YStateError({ code: ErrorCode.DOCUMENT_PAUSED, message: 'paused' });
        res.writeHead(204).end();
      },
    };
    const { http } = await startServer({ auth: { secret }, routes: [events, agui] });
    const reader = await sign({ 'runs/*': 'read' });

    const controller = new AbortController();
    const response = await fetch(`${http}/api/docs/runs%2F1/events`, {
      headers: { authorization: `Bearer ${reader}` },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader$ = response.body?.getReader();
    const first = await reader$?.read();
    expect(new TextDecoder().decode(first?.value)).toBe('data: {"docId":"runs/1"}\n\n');
    expect(seen).toEqual([{ docId: 'runs/1', principal: 'agent-7' }]);
    controller.abort();
    await within(abortedOnce, 'the route to see the client leave');

    expect((await fetchJson(`${http}/api/docs/runs/1/events`)).status).toBe(401);
    expect((await fetchJson(`${http}/api/docs/other/events?token=${reader}`)).status).toBe(403);
    const post = (docId: string, token: string) =>
      fetchJson(`${http}/api/docs/${docId}/agui?token=${token}`, { method: 'POST', body: '{}' });
    expect(await post('runs/1', reader)).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    const writer = await sign({ '**': 'write' });
    expect((await post('runs/1', writer)).status).toBe(204);
    expect(await post('refuse', writer)).toMatchObject({
      status: 423,
      body: { error: { code: 'DOCUMENT_PAUSED' } },
    });
  });

  it('open streams end when the server closes', async () => {
    const route: ExtraRoute = {
      method: 'GET',
      path: '/api/docs/:docId/events',
      access: 'read',
      async handler(_req, res, { signal }) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        res.end();
      },
    };
    const { http, server } = await startServer({ routes: [route] });
    const response = await fetch(`${http}/api/docs/d/events`);
    const stream = response.body?.getReader();
    await stream?.read();
    await within(server.close(), 'close with an open stream');
    expect((await stream?.read())?.done).toBe(true);
  });

  it('refuses route paths without one :docId segment', async () => {
    const handler = async () => undefined;
    await expect(
      startServer({ routes: [{ method: 'GET', path: '/api/x', access: 'read', handler }] }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});

describe('static files and hooks', () => {
  it('serves staticDir at / and never outside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ystate-static-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'site'));
    await writeFile(join(dir, 'site', 'index.html'), '<h1>demo</h1>');
    await writeFile(join(dir, 'site', 'app.js'), 'export {};');
    await writeFile(join(dir, 'secret.txt'), 'nope');
    const { http } = await startServer({ staticDir: join(dir, 'site') });
    const index = await fetch(`${http}/`);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toBe('<h1>demo</h1>');
    expect((await fetch(`${http}/app.js`)).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8',
    );
    expect((await fetch(`${http}/missing.js`)).status).toBe(404);
    const port = new URL(http).port;
    const traversal = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/%2e%2e/secret.txt' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(traversal).toBe(404);
  });

  it('calls onConnect, onChange, beforeBroadcast and onDisconnect with typed payloads', async () => {
    const calls: string[] = [];
    const broadcasts: BroadcastPayload[] = [];
    let onDisconnected!: (call: string) => void;
    const disconnected = new Promise<string>((resolve) => {
      onDisconnected = resolve;
    });
    const { http, ws } = await startServer({
      hooks: {
        onConnect: ({ docId, access }) => void calls.push(`connect ${docId} ${access}`),
        onChange: (change) => {
          calls.push(`change ${change.transport}`);
          if (change.transport === 'http' && change.patch.some((op) => op.path === '/forbidden')) {
            throw new YStateError({ code: ErrorCode.FORBIDDEN, message: 'not that path' });
          }
        },
        beforeBroadcast: (payload) => void broadcasts.push(payload),
        onDisconnect: ({ docId, code }) => onDisconnected(`disconnect ${docId} ${code}`),
      },
    });
    const client = connect(ws, 'hooked');
    await synced(client);
    expect(await patchState(http, 'hooked', [{ op: 'add', path: '/forbidden', value: 1 }])).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: 'not that path' } },
    });
    await patchState(http, 'hooked', [{ op: 'add', path: '/ok', value: 1 }]);
    await until(client.doc, () => client.map.get('ok') === 1);
    expect(
      broadcasts.map(({ docId, seq, origin, recipients }) => ({ docId, seq, origin, recipients })),
    ).toEqual([{ docId: 'hooked', seq: 1, origin: 'anonymous', recipients: 1 }]);
    client.provider.disconnect();
    // The provider closes without a status code: the server reports 1005 (no status received).
    expect(await within(disconnected, 'onDisconnect')).toBe('disconnect hooked 1005');
    expect(calls).toEqual(['connect hooked write', 'change http', 'change http']);
  });
});
