/**
 * Every version label is exact: under concurrent writers (HTTP and WebSocket), the body of a
 * `GET /state` is the state `?at=<its seq>` rebuilds, and the GET → PATCH with If-Match flow places an insert next to
 * the element its author saw. (SSE labels across two nodes: packages/agui/test/gate.test.ts.)
 */

import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { connect, fetchJson, patchState, startServer, synced } from './helpers.js';

const DOC = 'labels';

describe('exact version labels', () => {
  it('GET /state under 2 HTTP writers and 1 WebSocket writer: each body is the state at its ETag', async () => {
    const server = await startServer();
    await patchState(server.http, DOC, [{ op: 'add', path: '/list', value: [] }]);
    const ws = connect(server.ws, DOC);
    await synced(ws);
    const list = ws.doc.getMap('state').get('list') as Y.Array<string>;
    let writing = true;
    const httpWriter = async (name: string) => {
      for (let i = 0; writing; i++) {
        await patchState(server.http, DOC, [{ op: 'add', path: '/list/0', value: `${name}${i}` }]);
      }
    };
    const wsWriter = async () => {
      for (let i = 0; writing; i++) {
        list.insert(0, [`ws${i}`]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const writers = [httpWriter('a'), httpWriter('b'), wsWriter()];
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const now = await fetchJson(`${server.http}/api/docs/${DOC}/state`);
      const seq = now.headers.get('x-ystate-seq');
      expect(now.headers.get('etag')).toBe(`"${seq}"`);
      const at = await fetchJson(`${server.http}/api/docs/${DOC}/state?at=${seq}`);
      expect(now.body, `state labelled ${seq}`).toEqual(at.body);
      checked++;
    }
    writing = false;
    await Promise.all(writers);
    expect(checked).toBe(60);
    ws.provider.destroy();
  });

  it('GET then PATCH with If-Match inserts next to the element its author saw, while others insert before it', async () => {
    const server = await startServer();
    await patchState(server.http, DOC, [{ op: 'add', path: '/list', value: ['x'] }]);
    for (let round = 0; round < 40; round++) {
      const seen = await fetchJson(`${server.http}/api/docs/${DOC}/state?path=/list`);
      const items = seen.body as string[];
      const anchor = items[items.length - 1] as string;
      // Someone else inserts at the front after the author read the list.
      await patchState(server.http, DOC, [{ op: 'add', path: '/list/0', value: `other${round}` }]);
      // The author appends after the last element they saw, at the index they saw.
      const mine = `mine${round}`;
      const answer = await patchState(
        server.http,
        DOC,
        [{ op: 'add', path: `/list/${items.length}`, value: mine }],
        {
          'if-match': seen.headers.get('etag') as string,
        },
      );
      expect(answer.status).toBe(200);
      const after = (await fetchJson(`${server.http}/api/docs/${DOC}/state?path=/list`)).body as string[];
      expect(after[after.indexOf(mine) - 1], `round ${round}`).toBe(anchor);
    }
  });
});
