/**
 * @ystate/client against the real `ystate serve` process (file log): read, write with If-Match,
 * history, and a subscription that outlives a restart of the server — it reconnects by itself and
 * resumes from the file log with the changes written meanwhile (a delta, not a new snapshot), with
 * nothing lost or applied twice.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freePort, ServeProcess, tempDir } from '../../cli/test/cli-process.js';
import { createClient, type Json, type StateChange } from '../src/index.js';

let data: Awaited<ReturnType<typeof tempDir>>;
let port: number;
let serve: ServeProcess;

const start = () => ServeProcess.start(['--port', String(port), '--data', data.path], { cwd: data.path });

beforeAll(async () => {
  assertBuilt();
  data = await tempDir('ystate-client-serve-');
  port = await freePort();
  serve = await start();
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await data?.remove();
}, 60_000);

describe('@ystate/client against `ystate serve`', { timeout: 60_000 }, () => {
  it('reads, writes, lists history, and a subscription resumes across a server restart', async () => {
    const client = createClient({ url: serve.url });
    const doc = 'client/serve';
    const a = 'a'.repeat(500);
    const { seq: created } = await client.patch(doc, [{ op: 'add', path: '/items', value: [a] }]);
    expect(await client.get(doc)).toEqual({ value: { items: [a] }, seq: created });
    expect(client.seenSeq(doc)).toBe(created);
    await client.patch(doc, [{ op: 'add', path: '/items/-', value: 'b' }]);
    expect((await client.history(doc)).map((entry) => entry.patch)).toEqual([
      [{ op: 'add', path: '/items', value: [a] }],
      [{ op: 'add', path: '/items/1', value: 'b' }],
    ]);

    const changes: StateChange[] = [];
    const statuses: string[] = [];
    const subscription = client.subscribe(doc, {
      path: '/items',
      backoff: { initialMs: 50, maxMs: 500 },
      onChange: (change) => changes.push(change),
      onStatus: (status) => statuses.push(status),
    });
    expect(await subscription.ready).toEqual([a, 'b']);

    // (The list is long enough that a delta of a few items is smaller than a snapshot of it: the
    // server answers with whichever is smaller.)
    // The server stops; it comes back on the same port and data, and another writer adds items
    // before (or while) the subscription reconnects.
    await serve.stop();
    serve = await start();
    const writer = createClient({ url: serve.url });
    for (const item of ['c', 'd', 'e'])
      await writer.patch(doc, [{ op: 'add', path: '/items/-', value: item }]);
    const { seq: head } = await writer.get(doc);
    await expect.poll(() => subscription.seq, { timeout: 30_000 }).toBe(head);

    expect(subscription.value).toEqual([a, 'b', 'c', 'd', 'e']);
    expect(statuses).toContain('reconnecting');
    expect(changes.map((change) => change.kind)).toEqual([
      'snapshot',
      ...changes.slice(1).map(() => 'delta'),
    ]);
    expect(changes.slice(1).some((change) => change.resumed)).toBe(true);
    // Every change moved forward: none repeated.
    for (let i = 1; i < changes.length; i++) {
      expect(changes[i]?.seq).toBeGreaterThan(changes[i - 1]?.seq as number);
    }
    const { value } = await writer.get(doc, { path: '/items' });
    expect(value as Json).toEqual(subscription.value);
    subscription.close();
  });
});
