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
  within,
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

  it('subscribes where a slot really is when its slot map is stale (an SSUBSCRIBE answered MOVED)', async () => {
    const redis = connectToCluster(cluster());
    closers.push(() => redis.quit());
    await redis.ping();
    const prefix = uniquePrefix('stale');
    const bus = new RedisSyncBus({ redis, prefix });
    closers.push(() => bus.close());
    const docId = 'moved';
    const slot = keySlot(documentKeys(prefix, docId).channel);
    const owner = redis.slots[slot]?.[0];
    const elsewhere = redis.nodes('master').map((node) => `${node.options.host}:${node.options.port}`);
    const stale = elsewhere.find((key) => key !== owner);
    expect(stale).toBeDefined();
    // What a node that has not heard of a reshard yet answers CLUSTER SLOTS with: another master.
    redis.slots[slot] = [stale as string];
    const received: number[] = [];
    await within(
      bus.subscribe(docId, (entries) => received.push(...entries.map((e) => e.seq))),
      'the subscribe',
      15_000,
    );
    expect(redis.slots[slot]?.[0]).toBe(owner);
    const log = new RedisUpdateLog({ redis, prefix });
    await log.append(docId, [entry(1)]);
    await eventually(() => received.length === 1, 5_000, 'the entry, over the subscription at the owner');
    expect(received).toEqual([1]);
  });
});

/** Collects what a signal listener receives. */
function collector(): { received: number[][]; listener: (message: Uint8Array) => void } {
  const received: number[][] = [];
  return { received, listener: (message) => received.push([...message]) };
}

describe('RedisSyncBus signals on one Redis', () => {
  /** Two buses (two nodes) on one prefix, each with its own command connection. */
  function pair(prefix: string): [RedisSyncBus, RedisSyncBus] {
    return [0, 1].map(() => {
      const redis = connectTo(server());
      const bus = new RedisSyncBus({ redis, prefix });
      closers.push(() => redis.quit());
      closers.push(() => bus.close());
      return bus;
    }) as [RedisSyncBus, RedisSyncBus];
  }

  const numsub = async (channel: string) =>
    Number((await server().cli('pubsub', 'numsub', channel)).trim().split('\n')[1]);

  it("reach the other bus's listeners of the document, never the sender's own, and other documents' listeners not at all", async () => {
    const prefix = uniquePrefix('sig');
    const [a, b] = pair(prefix);
    const atA = collector();
    const atB = collector();
    const atBToo = collector();
    const otherAtB = collector();
    const entriesAtB: LogEntry[] = [];
    await a.onSignal('doc', atA.listener);
    await b.onSignal('doc', atB.listener);
    await b.onSignal('doc', atBToo.listener);
    await b.onSignal('other', otherAtB.listener);
    await b.subscribe('doc', (entries) => entriesAtB.push(...entries));

    // The signal channel sits in the document's slot, beside its entries channel.
    const keys = documentKeys(prefix, 'doc');
    expect(keys.signal).toBe(`${prefix}{doc}:signal`);
    expect(keySlot(keys.signal)).toBe(keySlot(keys.channel));
    expect(await numsub(keys.signal)).toBe(2);

    await a.signal('doc', Uint8Array.of(1, 2, 3));
    await a.signal('other', Uint8Array.of(9));
    await eventually(() => otherAtB.received.length === 1, 5_000, 'the signal of the other document');
    // Sent after the first: both arrived at b by now, each listener with a copy of its own.
    expect(atB.received).toEqual([[1, 2, 3]]);
    expect(atBToo.received).toEqual([[1, 2, 3]]);
    expect(otherAtB.received).toEqual([[9]]);

    // b answers; a's subscription got its own echo before the answer (Redis keeps publish order
    // per channel), so a's listener holds only b's message: the sender skipped its own.
    await b.signal('doc', Uint8Array.of(4));
    await eventually(() => atA.received.length > 0, 5_000, "b's answer");
    expect(atA.received).toEqual([[4]]);
    expect(atB.received).toEqual([[1, 2, 3]]);

    // Signals are never entries, and never stored.
    const redis = connectTo(server());
    closers.push(() => redis.quit());
    await new RedisUpdateLog({ redis, prefix }).append('doc', [entry(1)]);
    await eventually(() => entriesAtB.length === 1, 5_000, 'the appended entry');
    expect(atB.received).toEqual([[1, 2, 3]]);
    const stored = (await server().cli('--scan', '--pattern', `${prefix}*`)).trim().split('\n');
    expect(stored).toEqual([`${prefix}{doc}:log`]);
  });

  it('stop delivering to a listener once it is removed, and unsubscribe the channel after the last one', async () => {
    const prefix = uniquePrefix('sigstop');
    const [a, b] = pair(prefix);
    const first = collector();
    const second = collector();
    const stopFirst = await b.onSignal('doc', first.listener);
    const stopSecond = await b.onSignal('doc', second.listener);
    const entries: LogEntry[] = [];
    await b.subscribe('doc', (received) => entries.push(...received));
    const channel = documentKeys(prefix, 'doc').signal;
    expect(await numsub(channel)).toBe(1);

    await stopFirst();
    await a.signal('doc', Uint8Array.of(1));
    await eventually(() => second.received.length === 1, 5_000, 'the signal');
    expect(first.received).toEqual([]);

    await stopSecond();
    await stopSecond(); // a second call changes nothing
    expect(await numsub(channel)).toBe(0);
    // The entries channel of the document is its own: still subscribed and delivering.
    expect(await numsub(documentKeys(prefix, 'doc').channel)).toBe(1);
    await a.signal('doc', Uint8Array.of(2));
    await a.publish('doc', [{ ...entry(1), seq: 1 }]);
    await eventually(() => entries.length === 1, 5_000, 'the published entry');
    expect(second.received).toEqual([[1]]);

    // Listening again after the last one left works.
    const again = collector();
    await b.onSignal('doc', again.listener);
    await a.signal('doc', Uint8Array.of(3));
    await eventually(() => again.received.length === 1, 5_000, 'the signal after listening again');
    expect(again.received).toEqual([[3]]);
  });

  it('resume after CLIENT KILL TYPE pubsub once the bus reports its reconnect', async () => {
    const prefix = uniquePrefix('sigkill');
    const [a, b] = pair(prefix);
    const atB = collector();
    await b.onSignal('doc', atB.listener);
    await a.onSignal('doc', () => undefined);
    let reconnects = 0;
    b.onReconnect(() => {
      reconnects++;
    });
    await a.signal('doc', Uint8Array.of(1));
    await eventually(() => atB.received.length === 1, 5_000, 'the first signal');

    await server().cli('client', 'kill', 'type', 'pubsub');
    await eventually(() => reconnects >= 1, 10_000, 'the subscriber to come back');
    await a.signal('doc', Uint8Array.of(2));
    await eventually(() => atB.received.length === 2, 5_000, 'the signal after the reconnect');
    expect(atB.received.at(-1)).toEqual([2]);
  });

  it('refuse a closed bus, a missing docId and a message that is not bytes', async () => {
    const [a] = pair(uniquePrefix('sigbad'));
    await expect(a.signal('', Uint8Array.of(1))).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(a.onSignal('', () => undefined)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(a.signal('doc', 'text' as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'INVALID_VALUE',
    });
    await a.close();
    await expect(a.signal('doc', Uint8Array.of(1))).rejects.toMatchObject({ code: 'DOCUMENT_CLOSED' });
    await expect(a.onSignal('doc', () => undefined)).rejects.toMatchObject({ code: 'DOCUMENT_CLOSED' });
  });
});

describe('RedisSyncBus signals on a 3-master Redis Cluster', () => {
  it("reach the other bus over sharded Pub/Sub for every document, never the sender's own, and resume after CLIENT KILL", async () => {
    const prefix = uniquePrefix('ssig');
    const buses = [0, 1].map(() => {
      const redis = connectToCluster(cluster());
      const bus = new RedisSyncBus({ redis, prefix });
      closers.push(() => redis.quit());
      closers.push(() => bus.close());
      return bus;
    }) as [RedisSyncBus, RedisSyncBus];
    const [a, b] = buses;
    const docs = Array.from({ length: 24 }, (_, i) => `doc-${i}`);
    const atA = new Map(docs.map((docId) => [docId, collector()]));
    const atB = new Map(docs.map((docId) => [docId, collector()]));
    await Promise.all(
      docs.flatMap((docId) => [
        a.onSignal(docId, atA.get(docId)!.listener),
        b.onSignal(docId, atB.get(docId)!.listener),
      ]),
    );
    let reconnects = 0;
    b.onReconnect(() => {
      reconnects++;
    });
    // The documents spread over the three masters; each signal channel is a sharded channel there.
    const nodes = cluster().nodes;
    const shardSubscribers = async (channel: string) => {
      const counts = await Promise.all(
        nodes.map(async (node) =>
          Number((await node.cli('pubsub', 'shardnumsub', channel)).trim().split('\n')[1]),
        ),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    };
    expect(await shardSubscribers(documentKeys(prefix, 'doc-0').signal)).toBe(2);
    expect(new Set(docs.map((docId) => keySlot(documentKeys(prefix, docId).signal))).size).toBeGreaterThan(1);

    await Promise.all(docs.map((docId, i) => a.signal(docId, Uint8Array.of(i))));
    await eventually(
      () => docs.every((docId) => atB.get(docId)!.received.length === 1),
      5_000,
      'one signal per document at b',
    );
    expect(docs.every((docId, i) => atB.get(docId)!.received[0]![0] === i)).toBe(true);
    // b answers on every document; a gets the answers only, its own signals having been skipped.
    await Promise.all(docs.map((docId, i) => b.signal(docId, Uint8Array.of(100 + i))));
    await eventually(
      () => docs.every((docId) => atA.get(docId)!.received.length === 1),
      5_000,
      'the answers at a',
    );
    expect(docs.every((docId, i) => atA.get(docId)!.received[0]![0] === 100 + i)).toBe(true);

    await Promise.all(nodes.map((node) => node.cli('client', 'kill', 'type', 'pubsub')));
    await eventually(() => reconnects >= 3, 10_000, "every shard of b's subscriber to re-subscribe");
    await Promise.all(docs.map((docId, i) => a.signal(docId, Uint8Array.of(200 + i))));
    await eventually(
      () => docs.every((docId) => atB.get(docId)!.received.length === 2),
      5_000,
      'the signal after the reconnect, per document',
    );
    expect(docs.every((docId, i) => atB.get(docId)!.received[1]![0] === 200 + i)).toBe(true);
  });
});
