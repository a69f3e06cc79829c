/**
 * `ystate serve --redis-cluster` as operators run it: two server processes on a real Redis Cluster
 * of three masters with one replica each, stock y-websocket clients on both, then a manual
 * failover of a master that holds a document while both sides keep editing. Every acknowledged
 * edit must be there afterwards: on both nodes, and after one of them restarts.
 */

import { DEFAULT_PREFIX, documentKeys, keySlot } from '@ystate/redis';
import { type RedisServer, useRedisCluster } from '@ystate/redis/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { assertBuilt, runCli, ServeProcess, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const cluster = useRedisCluster(3, { replicas: 1 });

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<ServeProcess> {
  const server = await ServeProcess.start(['--port', '0', ...args], env ? { cwd, env } : { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

interface Client {
  readonly doc: Y.Doc;
  readonly state: Y.Map<unknown>;
  readonly synced: Promise<void>;
  close(): void;
}

/** A stock y-websocket client in Node (the `ws` package stands in for the browser's WebSocket). */
function connect(wsUrl: string, docId: string): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(wsUrl, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  const close = () => {
    provider.destroy();
    doc.destroy();
  };
  cleanups.push(close);
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    else provider.once('sync', () => resolve());
  });
  return { doc, state: doc.getMap('state'), synced, close };
}

async function patch(baseUrl: string, docId: string, key: string, value: unknown): Promise<boolean> {
  const response = await fetch(`${baseUrl}/api/docs/${encodeURIComponent(docId)}/state`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify([{ op: 'add', path: `/${key}`, value }]),
  });
  await response.body?.cancel();
  return response.status === 200;
}

async function stateOf(baseUrl: string, docId: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}/api/docs/${encodeURIComponent(docId)}/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** Resolves once `client` holds every key of `expected` with its value. */
function holds(client: Client, expected: ReadonlyMap<string, unknown>, what: string, timeoutMs = 15_000) {
  return waitFor(
    () => ([...expected].every(([key, value]) => client.state.get(key) === value) ? true : undefined),
    what,
    timeoutMs,
  );
}

/** Runs `fn`; when it fails, adds what the nodes logged at warn and above to the error. */
async function withLogs(nodes: readonly ServeProcess[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const logs = nodes.map((node, i) =>
      node.records
        .filter((record) => record.level >= 40)
        .map((record) => `node ${i}: ${JSON.stringify(record)}`)
        .join('\n'),
    );
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs.join('\n')}`, {
      cause: error,
    });
  }
}

/** The master that holds `docId`'s slot now. */
async function masterOf(masters: readonly RedisServer[], docId: string): Promise<RedisServer> {
  const slot = keySlot(documentKeys(DEFAULT_PREFIX, docId).log);
  for (const master of masters) {
    if (Number(await master.cli('cluster', 'countkeysinslot', String(slot))) > 0) return master;
  }
  throw new Error(`no master holds the keys of ${docId}`);
}

describe('ystate serve --redis-cluster', () => {
  // Two server processes, a failover and a restart: over a minute on a loaded 2-core machine.
  it('two nodes share documents through a cluster, and a failover loses no acknowledged edit', {
    timeout: 180_000,
  }, async () => {
    const cwd = (await tempDir()).path;
    const seeds = cluster()
      .nodes.slice(0, 2)
      .map((node) => node.url)
      .join(',');
    const a = await serve(['--redis-cluster', seeds], cwd);
    const b = await serve([], cwd, { YSTATE_REDIS_CLUSTER: seeds });
    expect(a.logged('store:')[0]?.store).toBe(`redis cluster at ${seeds}`);

    // Enough documents that every master holds some (their slots are spread by docId).
    const docIds = Array.from({ length: 9 }, (_, i) => `cluster/doc-${i}`);
    const pairs = docIds.map((docId) => ({
      docId,
      alice: connect(a.wsUrl, docId),
      bob: connect(b.wsUrl, docId),
    }));
    await Promise.all(pairs.flatMap(({ alice, bob }) => [alice.synced, bob.synced]));

    // What was acknowledged, per document: y-websocket edits once the other node's client has
    // them (so they went through the cluster), HTTP patches once they answered 200.
    const acknowledged = new Map(docIds.map((docId) => [docId, new Map<string, unknown>()]));
    const ack = (docId: string, key: string, value: unknown) => acknowledged.get(docId)?.set(key, value);
    let round = 0;
    /**
     * One round of edits on every document: Alice on node a, Bob on node b, a patch on b. With
     * `wait`, the round ends once each side has the other's edit; without, edits just go on (as
     * during the failover, where an entry the bus missed arrives with the document's next one:
     * the bus is at-most-once and receivers fill gaps from the log).
     */
    async function editRound(wait = true): Promise<void> {
      round += 1;
      const r = round;
      await Promise.all(
        pairs.map(async ({ docId, alice, bob }) => {
          alice.state.set(`alice-${r}`, r);
          bob.state.set(`bob-${r}`, r);
          if (wait)
            await Promise.all([
              holds(bob, new Map([[`alice-${r}`, r]]), `bob to see alice-${r} on ${docId}`),
              holds(alice, new Map([[`bob-${r}`, r]]), `alice to see bob-${r} on ${docId}`),
            ]);
          ack(docId, `alice-${r}`, r);
          ack(docId, `bob-${r}`, r);
          if (await patch(b.url, docId, `patch-${r}`, r)) ack(docId, `patch-${r}`, r);
        }),
      );
    }
    await editRound();
    await editRound();

    const masters = await cluster().masters();
    expect(masters).toHaveLength(3);
    const [first] = docIds;
    const failing = await masterOf(masters, first as string);
    const onFailing = (
      await Promise.all(
        docIds.map(async (docId) => ((await masterOf(masters, docId)) === failing ? docId : undefined)),
      )
    ).filter((docId) => docId !== undefined);

    // Edit while the failover runs, and after it.
    const editing = (async () => {
      for (let i = 0; i < 3; i++) await editRound(false);
    })();
    const promoted = await cluster().failover(failing);
    await withLogs([a, b], async () => {
      await editing;
      await editRound(false);
      // Every edit made on either side reaches the other: nothing was lost over the failover.
      await Promise.all(
        pairs.map(({ docId, alice, bob }) => {
          const all = acknowledged.get(docId) ?? new Map();
          return Promise.all([
            holds(alice, all, `alice to have all of ${docId}`),
            holds(bob, all, `bob to have all of ${docId}`),
          ]);
        }),
      );
    });
    expect(await cluster().masters()).toContain(promoted);
    expect(await cluster().masters()).not.toContain(failing);
    expect(await masterOf(await cluster().masters(), first as string)).toBe(promoted);
    expect(onFailing.length).toBeGreaterThan(0);
    // The failover is invisible to clients: no node closed a connection over it (an append that
    // met MOVED is sent again; subscriptions Redis dropped are made again where they belong).
    expect([...a.logged('closing:'), ...b.logged('closing:')]).toEqual([]);

    // Every acknowledged edit is on both nodes...
    for (const { docId } of pairs) {
      const expected = Object.fromEntries(acknowledged.get(docId) ?? []);
      expect(await stateOf(a.url, docId)).toMatchObject(expected);
      expect(await stateOf(b.url, docId)).toMatchObject(expected);
    }
    // ...and after node a restarts, with no client left to send anything again.
    for (const { alice, bob } of pairs) {
      alice.close();
      bob.close();
    }
    expect(await a.stop()).toBe(0);
    const again = await serve(['--redis-cluster', seeds], cwd);
    for (const docId of onFailing) {
      const fresh = connect(again.wsUrl, docId);
      await fresh.synced;
      await holds(fresh, acknowledged.get(docId) ?? new Map(), `the restarted node to serve ${docId}`);
    }
    for (const docId of docIds) {
      expect(await stateOf(again.url, docId)).toEqual(Object.fromEntries(acknowledged.get(docId) ?? []));
    }
    expect(await b.stop()).toBe(0);
    expect(await again.stop()).toBe(0);
  });

  it('inspect and replay read the same documents from the cluster', async () => {
    const cwd = (await tempDir()).path;
    const seeds = cluster().nodes[0]?.url ?? '';
    const server = await serve(['--redis-cluster', seeds], cwd);
    expect(await patch(server.url, 'cluster/cli', 'title', 'hello')).toBe(true);
    await server.stop();
    const inspect = await runCli(['inspect', 'cluster/cli', '--json', '--redis-cluster', seeds], { cwd });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      docId: 'cluster/cli',
      store: `redis cluster at ${seeds}`,
    });
    const replay = await runCli(['replay', 'cluster/cli', '--redis-cluster', seeds], { cwd });
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({ title: 'hello' });
  });

  it('exits 2 when --redis and --redis-cluster are both given', async () => {
    const cwd = (await tempDir()).path;
    const result = await runCli(
      ['serve', '--redis', 'redis://127.0.0.1:6379', '--redis-cluster', 'redis://127.0.0.1:7000'],
      { cwd },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/choose one store: --redis and --redis-cluster were both given/);
  });
});

describe('ystate serve --redis-cluster on a cluster that requires a password', () => {
  const secured = useRedisCluster(3, { password: 's3cret/pw' });

  it('authenticates on every node with the password of the seed URLs, and never logs it', async () => {
    const cwd = (await tempDir()).path;
    const [seed] = secured().nodes;
    const withPassword = seed?.url ?? '';
    expect(withPassword).toContain(':s3cret%2Fpw@');
    const server = await serve(['--redis-cluster', withPassword], cwd);
    // Documents on every master: the cluster connection authenticated on each of them.
    for (let i = 0; i < 9; i++) expect(await patch(server.url, `secured/${i}`, 'n', i)).toBe(true);
    expect(await stateOf(server.url, 'secured/8')).toEqual({ n: 8 });
    expect(server.logged('store:')[0]?.store).toMatch(
      /^redis cluster at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+$/,
    );
    expect(JSON.stringify(server.records)).not.toContain('s3cret');
    await server.stop();

    const without = await runCli(
      ['serve', '--port', '0', '--redis-cluster', withPassword.replace(':s3cret%2Fpw@', '')],
      { cwd },
    );
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(
      /cannot reach the Redis Cluster at redis:\/\/127\.0\.0\.1:\d+: Failed to refresh slots cache \(NOAUTH/,
    );
    const wrong = await runCli(
      ['serve', '--port', '0', '--redis-cluster', withPassword.replace('s3cret%2Fpw', 'wrong')],
      { cwd },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /cannot reach the Redis Cluster at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*WRONGPASS/,
    );
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong@');
  });
});

describe('ystate serve --redis-cluster rediss://… on a cluster that speaks only TLS', () => {
  const tlsCluster = useRedisCluster(3, { tls: true });

  it('connects to every master over TLS, trusting the CA the operator gives Node', async () => {
    const cwd = (await tempDir()).path;
    const [seed] = tlsCluster().nodes;
    const url = seed?.url ?? '';
    expect(url).toMatch(/^rediss:\/\//);
    const caFile = seed?.tls?.caFile ?? '';
    const server = await serve(['--redis-cluster', url], cwd, { NODE_EXTRA_CA_CERTS: caFile });
    for (let i = 0; i < 9; i++) expect(await patch(server.url, `tls/${i}`, 'n', i)).toBe(true);
    expect(await stateOf(server.url, 'tls/5')).toEqual({ n: 5 });
    expect(server.logged('store:')[0]?.store).toBe(`redis cluster at ${url}`);
    await server.stop();

    // A certificate Node does not trust: the start fails with the TLS error, exit 1.
    const untrusted = await runCli(['serve', '--port', '0', '--redis-cluster', url], { cwd });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach the Redis Cluster at rediss:.*certificate/);
    // redis:// to a TLS-only cluster is refused too (no plain port answers).
    const plain = await runCli(
      ['serve', '--port', '0', '--redis-cluster', url.replace('rediss:', 'redis:')],
      {
        cwd,
      },
    );
    expect(plain.code).toBe(1);
  });
});
