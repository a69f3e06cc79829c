/**
 * Subscriptions across broken connections: a TCP proxy cuts the event stream at random byte
 * offsets (mid-header, mid-event, between events) while two writers PATCH concurrently. After every
 * reconnection the subscriber's value must equal `GET /state?at=<its seq>`, its seqs must only grow
 * (nothing applied twice), and it must reach the final state (nothing lost). A resume older than the
 * retained history falls back to a snapshot.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Json, type StateChange, type YStateClient } from '../src/index.js';
import { type CuttingProxy, cuttingProxy, seededRandom, startServer, type TestServer } from './harness.js';

let server: TestServer;
let proxy: CuttingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await server?.close();
});

/** `count` patches by one writer; `i` numbers them. */
async function writer(client: YStateClient, name: string, count: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < count; i++) {
    const ops =
      i % 4 === 3
        ? [{ op: 'add' as const, path: '/shared/0', value: `${name}${i}` }]
        : [{ op: 'add' as const, path: `/${name}/-`, value: i }];
    last = (await client.patch('d', ops, { baseSeq: null })).seq;
  }
  return last;
}

/** Checks every recorded change against the server's state at its seq. */
async function checkAgainstServer(reader: YStateClient, changes: StateChange[], path: string): Promise<void> {
  for (const change of changes) {
    const { value } = await reader.get('d', { at: change.seq, ...(path === '' ? {} : { path }) });
    expect({ seq: change.seq, value: change.value }).toEqual({ seq: change.seq, value });
  }
}

describe('a subscription under random disconnects and concurrent writers', () => {
  // The largest cut leaves room for a snapshot: a stream that can never deliver its first event cannot pass.
  for (const [path, seed, maxBytes] of [
    ['', 1, 2500],
    ['', 2, 2500],
    ['/a', 3, 900],
  ] as const) {
    it(`resumes without loss or duplicates (path "${path}", seed ${seed})`, async () => {
      server = await startServer();
      const direct = createClient({ url: server.url });
      await direct.patch('d', [
        { op: 'add', path: '/a', value: [] },
        { op: 'add', path: '/b', value: [] },
        { op: 'add', path: '/shared', value: [] },
        { op: 'add', path: '/pad', value: 'p'.repeat(400) },
      ]);
      proxy = await cuttingProxy(server.url, { minBytes: 60, maxBytes, random: seededRandom(seed) });
      const changes: StateChange[] = [];
      const errors: string[] = [];
      let onChange: ((change: StateChange) => void) | undefined;
      const subscription = createClient({ url: proxy.url }).subscribe('d', {
        ...(path === '' ? {} : { path }),
        backoff: { initialMs: 2, maxMs: 20 },
        onChange: (change) => {
          changes.push(change);
          onChange?.(change);
        },
        onError: (error) => errors.push(error.code),
      });
      await subscription.ready;

      const [a, b] = await Promise.all([
        writer(createClient({ url: server.url }), 'a', 60),
        writer(createClient({ url: server.url }), 'b', 60),
      ]);
      // A last write inside the subtree, so that the subscriber has a seq to reach.
      const { seq: final } = await direct.patch('d', [{ op: 'add', path: '/a/-', value: 'end' }], {
        baseSeq: null,
      });
      expect(final).toBeGreaterThan(Math.max(a, b));
      if ((subscription.seq ?? 0) < final) {
        await new Promise<void>((resolve) => {
          onChange = (change) => {
            if (change.seq >= final) resolve();
          };
        });
      }
      subscription.close();

      // Nothing applied twice: seqs only grow.
      const seqs = changes.map((change) => change.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
      // The connection really broke, many times, and resumed (mostly with deltas from the log).
      expect(proxy.cuts).toBeGreaterThan(5);
      const resumed = changes.filter((change) => change.resumed);
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed.some((change) => change.kind === 'delta')).toBe(true);
      expect(errors.every((code) => code === 'NETWORK_ERROR')).toBe(true);
      // Every value the subscriber had (after each reconnection in particular) is the server's at that seq.
      await checkAgainstServer(direct, changes, path);
      // Nothing lost: it ends at the final state.
      expect(subscription.value).toEqual((await direct.get('d', path === '' ? {} : { path })).value);
    });
  }
});

describe('a resume older than the retained history', () => {
  it('falls back to a snapshot of the state now', async () => {
    server = await startServer({
      engine: { checkpointEvery: { entries: 5, bytes: 1, sizeFraction: 0 }, retainEntries: 2 },
    });
    const client = createClient({ url: server.url });
    await client.patch('d', [
      { op: 'add', path: '/n', value: 0 },
      { op: 'add', path: '/pad', value: 'p'.repeat(400) },
    ]);
    const first = client.subscribe('d');
    const had = (await first.ready) as Json;
    const seq = first.seq as number;
    first.close();
    for (let i = 1; i <= 40; i++) await client.patch('d', [{ op: 'replace', path: '/n', value: i }]);
    await server.engine.flush();
    expect(await server.engine.log.read('d', { from: seq + 1, to: seq + 1 })).toEqual([]); // pruned

    const changes: StateChange[] = [];
    const resumed = client.subscribe('d', { resume: { seq, value: had } });
    for await (const change of resumed) {
      changes.push(change);
      break;
    }
    resumed.close();
    const { value, seq: head } = await client.get('d');
    expect(changes[0]).toMatchObject({ kind: 'snapshot', resumed: true, seq: head, value });
  });

  it('resumes with a delta while the history is retained', async () => {
    server = await startServer();
    const client = createClient({ url: server.url });
    await client.patch('d', [
      { op: 'add', path: '/n', value: 0 },
      { op: 'add', path: '/pad', value: 'p'.repeat(400) },
    ]);
    const { value: had, seq } = await client.get('d');
    for (let i = 1; i <= 5; i++) await client.patch('d', [{ op: 'replace', path: '/n', value: i }]);
    const changes: StateChange[] = [];
    const resumed = client.subscribe('d', { resume: { seq, value: had } });
    for await (const change of resumed) {
      changes.push(change);
      break;
    }
    resumed.close();
    const { value, seq: head } = await client.get('d');
    expect(changes[0]).toMatchObject({
      kind: 'delta',
      resumed: true,
      seq: head,
      value,
      patch: [{ op: 'replace', path: '/n', value: 5 }],
    });
  });
});
