import type { LogEntry } from '@ystate/core';
import { afterAll, describe, expect, it } from 'vitest';
import { documentKeys, keySlot, RedisSyncBus, RedisUpdateLog } from '../src/index.js';
import {
  connectTo,
  connectToCluster,
  eventually,
  uniquePrefix,
  useCluster,
  useRedisServer,
} from './helpers.js';

const server = useRedisServer();
const cluster = useCluster(3);
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

const entry = (n: number) => ({
  kind: 'update' as const,
  time: n,
  origin: 'o',
  flags: 0,
  payload: Uint8Array.of(n),
});

/** Pub/Sub clients of the server whose name says they are ystate subscribers. */
async function subscriberConnections(cli: (...args: string[]) => Promise<string>): Promise<number> {
  const list = await cli('client', 'list', 'type', 'pubsub');
  return list.split('\n').filter((line) => /name=ystate-s?subscriber/.test(line)).length;
}

describe('RedisSyncBus on one Redis', () => {
  it('uses one subscriber connection for every document, subscribing on the first listener and unsubscribing after the last', async () => {
    const redis = connectTo(server());
    closers.push(() => redis.quit());
    const prefix = uniquePrefix('refs');
    const bus = new RedisSyncBus({ redis, prefix });
    closers.push(() => bus.close());
    const cli = (...args: string[]) => server().cli(...args);
    const numsub = async (docId: string) =>
      Number((await cli('pubsub', 'numsub', documentKeys(prefix, docId).channel)).trim().split('\n')[1]);
    const stops = await Promise.all([
      bus.subscribe('a', () => undefined),
      bus.subscribe('a', () => undefined),
      ...Array.from({ length: 20 }, (_, i) => bus.subscribe(`doc-${i}`, () => undefined)),
    ]);
    expect(await subscriberConnections(cli)).toBe(1);
    expect(await numsub('a')).toBe(1);
    await stops[0]!();
    expect(await numsub('a')).toBe(1);
    await stops[1]!();
    expect(await numsub('a')).toBe(0);
    // Subscribing again after the last unsubscribe works.
    const received: LogEntry[] = [];
    await bus.subscribe('a', (entries) => received.push(...entries));
    const log = new RedisUpdateLog({ redis, prefix });
    await log.append('a', [entry(1), entry(2)]);
    await eventually(() => received.length === 2, 5_000, 'the appended entries');
    expect(received.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('RedisSyncBus on a 3-master Redis Cluster', () => {
  it('computes slots as the cluster does', async () => {
    const [node] = cluster().nodes;
    for (const key of [
      'ystate:{projects/42}:log',
      'plain',
      '{}x',
      'a{}b{c}',
      'notes/café',
      '{user1000}.following',
    ]) {
      expect(keySlot(key)).toBe(Number((await node!.cli('cluster', 'keyslot', key)).trim()));
    }
  });

  it('delivers appends over sharded Pub/Sub with one subscriber connection per master, and re-subscribes after CLIENT KILL', async () => {
    const redis = connectToCluster(cluster());
    closers.push(() => redis.quit());
    const prefix = uniquePrefix('shard');
    const bus = new RedisSyncBus({ redis, prefix });
    closers.push(() => bus.close());
    let reconnects = 0;
    bus.onReconnect(() => {
      reconnects++;
    });
    const docs = Array.from({ length: 24 }, (_, i) => `doc-${i}`);
    const received = new Map<string, number[]>(docs.map((docId) => [docId, []]));
    await Promise.all(
      docs.map((docId) =>
        bus.subscribe(docId, (entries) => received.get(docId)!.push(...entries.map((e) => e.seq))),
      ),
    );
    const nodes = cluster().nodes;
    const perNode = await Promise.all(
      nodes.map((node) => subscriberConnections((...args) => node.cli(...args))),
    );
    expect(perNode.every((count) => count <= 1)).toBe(true);
    expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(3);

    const log = new RedisUpdateLog({ redis, prefix });
    await Promise.all(docs.map((docId) => log.append(docId, [entry(1)])));
    await eventually(
      () => docs.every((docId) => received.get(docId)!.length === 1),
      5_000,
      'one entry per document',
    );

    await Promise.all(nodes.map((node) => node.cli('client', 'kill', 'type', 'pubsub')));
    await eventually(() => reconnects >= 3, 10_000, 'every shard to re-subscribe');
    await Promise.all(docs.map((docId) => log.append(docId, [entry(2)])));
    await eventually(
      () => docs.every((docId) => received.get(docId)!.length === 2),
      5_000,
      'the next entry per document',
    );
    expect([...received.values()].every((seqs) => seqs.join() === '1,2')).toBe(true);
  });
});
