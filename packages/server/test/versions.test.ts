/** The version routes: diff, revert, undo, named versions (and state at a version), with their error codes and auth. */

import { collaborativeText, ErrorCode, YStateError } from '@ystate/core';
import jsonpatch from 'fast-json-patch';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { connect, fetchJson, patchState, startServer, synced, until } from './helpers.js';

const secret = 'a-test-secret-of-reasonable-length';

function token(docs: Record<string, 'read' | 'write'>, sub: string): Promise<string> {
  return new SignJWT({ ystate: { docs } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetchJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('version routes', () => {
  it('GET diff between seqs, times and versions gives a patch that fast-json-patch applies', async () => {
    const { http } = await startServer();
    const docUrl = `${http}/api/docs/${encodeURIComponent('notes/1')}`;
    await patchState(http, 'notes/1', [{ op: 'add', path: '/todos', value: ['a'] }]);
    await patchState(http, 'notes/1', [{ op: 'add', path: '/todos/-', value: 'b' }]);
    expect((await post(`${docUrl}/versions`, { name: 'two-todos' })).status).toBe(201);
    await patchState(http, 'notes/1', [{ op: 'replace', path: '/todos/0', value: 'A' }]);

    const diff = await fetchJson(`${docUrl}/diff?from=1&to=two-todos`);
    expect(diff).toMatchObject({
      status: 200,
      body: { from: 1, to: 2, patch: [{ op: 'add', path: '/todos/1', value: 'b' }] },
    });
    const toHead = (await fetchJson(`${docUrl}/diff?from=0`)).body as {
      to: number;
      patch: jsonpatch.Operation[];
    };
    expect(toHead.to).toBe(4);
    expect(jsonpatch.applyPatch({}, toHead.patch).newDocument).toEqual({ todos: ['A', 'b'] });
    const byTime = await fetchJson(
      `${docUrl}/diff?from=two-todos&to=${new Date(Date.now() + 1000).toISOString()}`,
    );
    expect(byTime.body).toMatchObject({ from: 2, to: 4 });
    const { patch } = byTime.body as { patch: jsonpatch.Operation[] };
    expect(jsonpatch.applyPatch({ todos: ['a', 'b'] }, patch).newDocument).toEqual({ todos: ['A', 'b'] });

    expect(await fetchJson(`${docUrl}/diff`)).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_VALUE' } },
    });
    expect(await fetchJson(`${docUrl}/diff?from=nope`)).toMatchObject({
      status: 404,
      body: { error: { code: 'VERSION_NOT_FOUND' } },
    });
    expect(await fetchJson(`${docUrl}/diff?from=0&to=99`)).toMatchObject({
      status: 404,
      body: { error: { code: 'PATH_NOT_FOUND' } },
    });
  });

  it('POST versions names a seq, GET versions lists them, GET state?version= reads one; bad input changes nothing', async () => {
    const { http, engine } = await startServer();
    const docUrl = `${http}/api/docs/d`;
    await patchState(http, 'd', [{ op: 'add', path: '/a', value: 1 }]);
    await patchState(http, 'd', [{ op: 'add', path: '/b', value: 2 }]);
    const named = await post(`${docUrl}/versions`, { name: 'only-a', seq: 1 });
    expect(named).toMatchObject({
      status: 201,
      body: { name: 'only-a', seq: 1, origin: 'anonymous', namedAt: 3 },
    });
    expect(named.headers.get('x-ystate-seq')).toBe('3');
    const list = await fetchJson(`${docUrl}/versions`);
    expect(list.body).toEqual([
      { name: 'only-a', seq: 1, origin: 'anonymous', namedAt: 3, time: expect.any(Number) },
    ]);
    const state = await fetchJson(`${docUrl}/state?version=only-a`);
    expect(state.body).toEqual({ a: 1 });
    expect(state.headers.get('x-ystate-seq')).toBe('1');
    expect((await fetchJson(`${docUrl}/state?version=only-a&path=/a`)).body).toBe(1);

    const head = await engine.log.head('d');
    const refusals: [unknown, number, string][] = [
      [{ name: 'only-a' }, 409, ErrorCode.VERSION_EXISTS],
      [{ name: '17' }, 400, ErrorCode.INVALID_VALUE],
      [{ name: 'x', seq: 99 }, 404, ErrorCode.PATH_NOT_FOUND],
      [{ name: 'x', seq: -1 }, 400, ErrorCode.INVALID_VALUE],
      [{ name: 'x', extra: true }, 400, ErrorCode.INVALID_VALUE],
      ['{not json', 400, ErrorCode.INVALID_VALUE],
    ];
    for (const [body, status, code] of refusals) {
      expect(await post(`${docUrl}/versions`, body), JSON.stringify(body)).toMatchObject({
        status,
        body: { error: { code } },
      });
    }
    expect(
      await fetchJson(`${docUrl}/versions`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      }),
    ).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await fetchJson(`${docUrl}/state?version=nope`)).toMatchObject({
      status: 404,
      body: { error: { code: 'VERSION_NOT_FOUND' } },
    });
    expect(await fetchJson(`${docUrl}/state?version=only-a&at=1`)).toMatchObject({ status: 400 });
    expect(await fetchJson(`${docUrl}/versions`, { method: 'DELETE' })).toMatchObject({ status: 400 });
    expect(await engine.log.head('d')).toBe(head);

    // DELETE releases a name (and the history it pinned); the deletion is an entry of its own.
    const deleted = await fetchJson(`${docUrl}/versions?name=only-a`, { method: 'DELETE' });
    expect(deleted).toMatchObject({ status: 200, body: { name: 'only-a', seq: 1, deletedAt: head + 1 } });
    expect((await fetchJson(`${docUrl}/versions`)).body).toEqual([]);
    expect(await fetchJson(`${docUrl}/versions?name=only-a`, { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: { code: 'VERSION_NOT_FOUND' } },
    });
  });

  it('POST revert brings the JSON back and y-websocket clients see it; text typed meanwhile survives', async () => {
    const { http, ws, engine } = await startServer();
    const docUrl = `${http}/api/docs/doc`;
    const { seq: v1 } = await engine.write('doc', (tx) =>
      tx.set('', { title: 'v1', body: collaborativeText('hello world') }),
    );
    await patchState(http, 'doc', [
      { op: 'replace', path: '/title', value: 'v2' },
      { op: 'add', path: '/extra', value: [1, 2] },
    ]);
    await engine.write('doc', (tx) => tx.spliceText('/body', 6, 0, 'brave '));
    const client = connect(ws, 'doc');
    await synced(client);
    const body = client.map.get('body') as Y.Text;
    expect(body.toString()).toBe('hello brave world');
    // The person goes offline, types at the end; meanwhile the document is reverted; they come back.
    client.provider.disconnect();
    body.insert(body.length, '!');
    const reverted = await post(`${docUrl}/revert`, { to: v1 });
    expect(reverted).toMatchObject({ status: 200, body: { to: v1, seq: v1 + 3 } });
    expect(reverted.headers.get('x-ystate-seq')).toBe(String(v1 + 3));
    expect(await engine.get('doc')).toEqual({ title: 'v1', body: 'hello world' });
    client.provider.connect();
    await until(
      client.doc,
      () => body.toString() === 'hello world!' && client.map.get('extra') === undefined,
    );
    expect(client.map.toJSON()).toEqual({ title: 'v1', body: 'hello world!' });

    expect(await post(`${docUrl}/revert`, { to: 'nope' })).toMatchObject({
      status: 404,
      body: { error: { code: 'VERSION_NOT_FOUND' } },
    });
    expect(await post(`${docUrl}/revert`, {})).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_VALUE' } },
    });
  });

  it('POST undo by run id and by origin keeps what others wrote; RUN_NOT_FOUND for an unknown run', async () => {
    const { http, engine } = await startServer();
    const docUrl = `${http}/api/docs/d`;
    await patchState(http, 'd', [{ op: 'add', path: '/status', value: 'draft' }]);
    // An agent run as the AG-UI bridge records it: lifecycle events naming the run, changes under its origin.
    const origin = 'agui:run-1';
    const event = (name: string) => ({ type: 'event', name, path: '', data: { runId: 'run-1' } });
    await engine.record('d', event('agui.RUN_STARTED'), { origin });
    await engine.write('d', (tx) => tx.set('/status', 'done'), { origin });
    await patchState(http, 'd', [{ op: 'add', path: '/note', value: 'by a person' }]);
    await engine.write('d', (tx) => tx.set('/summary', 'by the agent'), { origin });
    await engine.record('d', event('agui.RUN_FINISHED'), { origin });

    const undone = await post(`${docUrl}/undo`, { run: 'run-1' });
    expect(undone).toMatchObject({ status: 200, body: { origin, from: 2, to: 6, entries: 2 } });
    expect(await engine.get('d')).toEqual({ status: 'draft', note: 'by a person' });

    await engine.write('d', (tx) => tx.set('/svc', 1), { origin: 'svc' });
    const from = await engine.log.head('d');
    expect(await post(`${docUrl}/undo`, { origin: 'svc', from })).toMatchObject({ status: 200 });
    expect(await engine.get('d')).toEqual({ status: 'draft', note: 'by a person' });

    expect(await post(`${docUrl}/undo`, { run: 'nope' })).toMatchObject({
      status: 404,
      body: { error: { code: 'RUN_NOT_FOUND' } },
    });
    expect(await post(`${docUrl}/undo`, { run: 'run-1', origin: 'x' })).toMatchObject({ status: 400 });
    expect(await post(`${docUrl}/undo`, { origin: 'svc', from: 5, to: 2 })).toMatchObject({
      status: 404,
      body: { error: { code: 'PATH_NOT_FOUND' } },
    });
  });

  it('offers reverts and undos to the onChange hook as the patch they would make; a refusal changes nothing', async () => {
    const seen: unknown[] = [];
    const { http, engine } = await startServer({
      hooks: {
        onChange: (payload) => {
          seen.push(payload);
          if (payload.transport === 'http' && payload.patch.some((op) => op.path === '/locked')) {
            throw new YStateError({ code: ErrorCode.FORBIDDEN, message: '/locked may not change' });
          }
        },
      },
    });
    await engine.write('d', (tx) => tx.set('/free', 1));
    await engine.write('d', (tx) => tx.set('/locked', true));
    const head = await engine.log.head('d');
    expect(await post(`${http}/api/docs/d/revert`, { to: 1 })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect(await post(`${http}/api/docs/d/undo`, { origin: engine.nodeId, from: 2 })).toMatchObject({
      status: 403,
    });
    expect(seen).toEqual([
      {
        transport: 'http',
        docId: 'd',
        principal: undefined,
        origin: 'anonymous',
        patch: [{ op: 'remove', path: '/locked' }],
        baseSeq: undefined,
      },
      expect.objectContaining({ patch: [{ op: 'remove', path: '/locked' }] }),
    ]);
    expect(await engine.log.head('d')).toBe(head);
    expect(await post(`${http}/api/docs/d/revert`, { to: 2 })).toMatchObject({ status: 200 });
  });

  it('with auth: reads need read access, writes need write access and are recorded under the principal', async () => {
    const { http, engine } = await startServer({ auth: { secret } });
    await engine.write('d', (tx) => tx.set('/a', 1));
    const reader = { authorization: `Bearer ${await token({ d: 'read' }, 'viewer')}` };
    const writer = { authorization: `Bearer ${await token({ d: 'write' }, 'alice')}` };
    expect((await fetchJson(`${http}/api/docs/d/versions`)).status).toBe(401);
    expect((await fetchJson(`${http}/api/docs/d/diff?from=0`, { headers: reader })).status).toBe(200);
    expect((await post(`${http}/api/docs/d/versions`, { name: 'v' }, reader)).status).toBe(403);
    expect((await post(`${http}/api/docs/d/revert`, { to: 0 }, reader)).status).toBe(403);
    expect((await post(`${http}/api/docs/d/undo`, { origin: 'x' }, reader)).status).toBe(403);
    expect(await post(`${http}/api/docs/d/versions`, { name: 'v' }, writer)).toMatchObject({
      status: 201,
      body: { origin: 'alice' },
    });
    const reverted = await post(`${http}/api/docs/d/revert`, { to: 0 }, writer);
    const [entry] = await engine.log.read('d', { from: (reverted.body as { seq: number }).seq });
    expect(entry?.origin).toBe('alice');
    expect(await engine.get('d')).toEqual({});
  });
});
