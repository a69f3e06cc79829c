/** Every call of @ystate/client against a real server over real HTTP, and every error it reports. */

import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { ErrorCode } from '@ystate/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createClient,
  isYStateClientError,
  type ServerErrorCode,
  type StateChange,
  type YStateClientError,
} from '../src/index.js';
import { retainOnly, SECRET, startServer, type TestServer, token } from './harness.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

async function refusal(promise: Promise<unknown>): Promise<YStateClientError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
  if (!isYStateClientError(error)) throw error;
  return error;
}

describe('reading', () => {
  it('get: the document, a subtree, at a seq and at a time, with the seq of the state read', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    const { seq: one } = await client.patch('projects/42', [{ op: 'add', path: '/todos', value: ['a'] }]);
    const before = Date.now();
    const { seq: two } = await client.patch('projects/42', [{ op: 'add', path: '/todos/-', value: 'b' }]);
    expect(await client.get('projects/42')).toEqual({ value: { todos: ['a', 'b'] }, seq: two });
    expect(await client.get('projects/42', { path: '/todos/1' })).toEqual({ value: 'b', seq: two });
    expect(await client.get('projects/42', { at: one })).toEqual({ value: { todos: ['a'] }, seq: one });
    expect((await client.get('projects/42', { at: new Date(before - 1) })).seq).toBe(one);
    expect(client.seenSeq('projects/42')).toBe(two);
  });

  it('history: entries with their JSON Patch, in a range', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    await client.patch('d', [{ op: 'add', path: '/n', value: 1 }]);
    await client.patch('d', [{ op: 'replace', path: '/n', value: 2 }]);
    const all = await client.history('d');
    expect(all.map((entry) => [entry.seq, entry.kind, entry.patch])).toEqual([
      [1, 'update', [{ op: 'add', path: '/n', value: 1 }]],
      [2, 'update', [{ op: 'replace', path: '/n', value: 2 }]],
    ]);
    expect((await client.history('d', { from: 2, to: 2 })).map((entry) => entry.seq)).toEqual([2]);
  });

  it('refusals carry the server code and status: PATH_NOT_FOUND, INVALID_POINTER, INVALID_VALUE, HISTORY_PRUNED', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    for (let i = 0; i < 10; i++) await client.patch('d', [{ op: 'add', path: '/n', value: i }]);
    await retainOnly(server.engine, 'd', 2);
    const missing = await refusal(client.get('d', { path: '/nothing' }));
    expect([missing.code, missing.status, missing.retryable]).toEqual(['PATH_NOT_FOUND', 404, false]);
    expect(await refusal(client.get('d', { path: 'no-slash' }))).toMatchObject({
      code: 'INVALID_POINTER',
      status: 400,
    });
    expect(await refusal(client.get('d', { at: 'not a time' }))).toMatchObject({
      code: 'INVALID_VALUE',
      status: 400,
    });
    expect(await refusal(client.history('d', { from: 1, to: 2 }))).toMatchObject({
      code: 'HISTORY_PRUNED',
      status: 410,
    });
  });
});

describe('writing', () => {
  it('patch sends If-Match with the newest seq the caller saw: a read, a write or a subscription event', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    const other = createClient({ url: server.url });
    await client.patch('d', [{ op: 'add', path: '/list', value: [] }]);
    expect(server.changes[0]?.baseSeq).toBeUndefined(); // nothing seen yet
    await other.patch('d', [{ op: 'add', path: '/list/0', value: 'x' }]); // the seq client has not seen
    await client.patch('d', [{ op: 'add', path: '/list/0', value: 'mine' }]);
    expect(server.changes[2]?.baseSeq).toBe(1); // its own write
    const { seq } = await other.get('d');
    await other.patch('d', [{ op: 'add', path: '/other', value: true }]);
    expect(server.changes[3]?.baseSeq).toBe(seq); // a read

    const third = createClient({ url: server.url });
    const subscription = third.subscribe('d');
    await subscription.ready;
    await third.patch('d', [{ op: 'add', path: '/third', value: true }]);
    expect(server.changes[4]?.baseSeq).toBe(subscription.seq); // an event
    subscription.close();

    await client.patch('d', [{ op: 'add', path: '/explicit', value: 1 }], { baseSeq: 2 });
    expect(server.changes[5]?.baseSeq).toBe(2);
    await client.patch('d', [{ op: 'add', path: '/none', value: 1 }], { baseSeq: null });
    expect(server.changes[6]?.baseSeq).toBeUndefined();
  });

  it('refused patches reject with the server code and change nothing: PATCH_TEST_FAILED, INVALID_PATCH, PATH_NOT_FOUND, TYPE_MISMATCH', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    const { seq } = await client.patch('d', [{ op: 'add', path: '/n', value: 1 }]);
    const cases: [unknown[], ServerErrorCode][] = [
      [
        [
          { op: 'test', path: '/n', value: 2 },
          { op: 'replace', path: '/n', value: 3 },
        ],
        'PATCH_TEST_FAILED',
      ],
      [[{ op: 'jump', path: '/n' }], 'INVALID_PATCH'],
      [[{ op: 'remove', path: '/missing' }], 'PATH_NOT_FOUND'],
    ];
    for (const [ops, code] of cases) {
      const error = await refusal(client.patch('d', ops as never));
      expect(error.code).toBe(code);
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(error.status).toBeLessThan(500);
    }
    expect(await client.get('d')).toEqual({ value: { n: 1 }, seq });
  });
});

describe('auth', () => {
  it('a token, or a function called for every request; UNAUTHORIZED and FORBIDDEN otherwise', async () => {
    server = await startServer({ server: { auth: { secret: SECRET } } });
    const writer = await token({ 'docs/*': 'write' });
    const reader = await token({ 'docs/*': 'read' });
    expect(await refusal(createClient({ url: server.url }).get('docs/1'))).toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
    });
    await createClient({ url: server.url, token: writer }).patch('docs/1', [
      { op: 'add', path: '/a', value: 1 },
    ]);
    let calls = 0;
    const client = createClient({
      url: server.url,
      token: async () => {
        calls++;
        return reader;
      },
    });
    expect((await client.get('docs/1')).value).toEqual({ a: 1 });
    expect(await refusal(client.patch('docs/1', [{ op: 'add', path: '/b', value: 1 }]))).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    expect(await refusal(client.get('other/1'))).toMatchObject({ code: 'FORBIDDEN' });
    expect(calls).toBe(3);
  });

  it('a subscription refused for good (FORBIDDEN) closes and reports once; 401 with a token function retries with a fresh token', async () => {
    server = await startServer({ server: { auth: { secret: SECRET } } });
    const reader = await token({ 'docs/*': 'read' });
    const errors: string[] = [];
    const forbidden = createClient({ url: server.url, token: reader }).subscribe('other/1', {
      onError: (error) => errors.push(error.code),
    });
    await expect(forbidden.ready).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(forbidden.status).toBe('closed');
    expect(errors).toEqual(['FORBIDDEN']);

    const tokens = ['', '', reader];
    const statuses: string[] = [];
    const retried = createClient({
      url: server.url,
      token: () => (tokens.length > 1 ? tokens.shift() : reader),
    }).subscribe('docs/1', {
      backoff: { initialMs: 5 },
      onError: (error) => errors.push(error.code),
      onStatus: (status) => statuses.push(status),
    });
    expect(await retried.ready).toEqual({});
    expect(errors).toEqual(['FORBIDDEN', 'UNAUTHORIZED', 'UNAUTHORIZED']);
    expect(statuses).toEqual(['reconnecting', 'open']);
    retried.close();
    expect(retried.status).toBe('closed');
  });
});

describe('client-side failures', () => {
  it('NETWORK_ERROR when nothing answers (retryable), INVALID_RESPONSE when something else does', async () => {
    const unreachable = createClient({ url: 'http://127.0.0.1:1' });
    const error = await refusal(unreachable.get('d'));
    expect([error.code, error.status, error.retryable]).toEqual(['NETWORK_ERROR', undefined, true]);

    const other = createHttpServer((_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>bad gateway</h1>'),
    );
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as { port: number };
    try {
      const gateway = await refusal(createClient({ url: `http://127.0.0.1:${port}` }).get('d'));
      expect([gateway.code, gateway.status, gateway.retryable]).toEqual(['INVALID_RESPONSE', 502, true]);
    } finally {
      other.close();
    }
    server = await startServer();
  });

  it('the client codes and the server codes together are exactly the codes the server has', async () => {
    // Compile time: ServerErrorCode covers every ErrorCode. Run time (what CI runs): the union in
    // the client's source lists exactly the server's codes, so a code added to the server and not
    // to the client fails here.
    const exhaustive: Record<keyof typeof ErrorCode, ServerErrorCode> = ErrorCode;
    expect(exhaustive).toBe(ErrorCode);
    const source = await readFile(new URL('../src/errors.ts', import.meta.url), 'utf8');
    const union = /export type ServerErrorCode =([^;]*);/.exec(source)?.[1] ?? '';
    const listed = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
    expect(listed.sort()).toEqual(Object.keys(ErrorCode).sort());
  });
});

describe('subscribing', () => {
  it('follows a subtree: a snapshot, then deltas applied to it, as callbacks and as an async iterable', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    // A long first item: a delta is smaller than a snapshot (the server sends whichever is smaller).
    const long = 'x'.repeat(200);
    await client.patch('d', [
      { op: 'add', path: '/todos', value: [long] },
      { op: 'add', path: '/other', value: 0 },
    ]);
    const seen: StateChange[] = [];
    const subscription = client.subscribe('d', { path: '/todos', onChange: (change) => seen.push(change) });
    expect(await subscription.ready).toEqual([long]);
    const iterated: StateChange[] = [];
    const iterating = (async () => {
      for await (const change of subscription) {
        iterated.push(change);
        if (iterated.length === 2) return;
      }
    })();
    await client.patch('d', [{ op: 'add', path: '/todos/-', value: 'one' }]);
    await client.patch('d', [{ op: 'replace', path: '/other', value: 1 }]); // not in the subtree
    await client.patch('d', [{ op: 'add', path: '/todos/0', value: 'zero' }]);
    await iterating;
    expect(seen.map((change) => [change.kind, change.value])).toEqual([
      ['snapshot', [long]],
      ['delta', [long, 'one']],
      ['delta', ['zero', long, 'one']],
    ]);
    expect(iterated).toEqual(seen.slice(1));
    expect(seen[1]?.patch).toEqual([{ op: 'add', path: '/1', value: 'one' }]);
    expect(subscription.seq).toBe(4);
    subscription.close();
  });
});
