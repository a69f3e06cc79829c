import { ErrorCode, isYStateError, type LogEntry } from '@ystate/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisStore, documentKeys, RedisUpdateLog } from '../src/index.js';
import { connectTo, eventually, uniquePrefix, useRedisServer } from './helpers.js';

const server = useRedisServer();
const connections: ReturnType<typeof connectTo>[] = [];
afterAll(async () => {
  for (const connection of connections) await connection.quit();
});

function connection(): ReturnType<typeof connectTo> {
  const made = connectTo(server());
  connections.push(made);
  return made;
}

const entry = (n: number) => ({
  kind: 'update' as const,
  time: n,
  origin: 'o',
  flags: 0,
  payload: Uint8Array.of(n),
});
const checkpoint = (seq: number, origin: string): LogEntry => ({
  kind: 'checkpoint',
  seq,
  time: seq,
  origin,
  flags: 0,
  payload: Uint8Array.of(seq),
});

describe('key layout', () => {
  it('keeps a document in hash-tagged keys: a list of full frames, a base offset, a checkpoint zset, a lease', async () => {
    const redis = connection();
    const prefix = uniquePrefix('layout');
    const log = new RedisUpdateLog({ redis, prefix, checkpointLeaseMs: 60_000 });
    await log.append('projects/42', [entry(1), entry(2), entry(3)]);
    const keys = documentKeys(prefix, 'projects/42');
    expect(keys.log).toBe(`${prefix}{projects/42}:log`);
    expect(await redis.type(keys.log)).toBe('list');
    expect(await redis.exists(keys.base)).toBe(0);
    await log.prune('projects/42', 3);
    expect(await redis.get(keys.base)).toBe('2');
    expect(await redis.llen(keys.log)).toBe(1);
    await log.storeCheckpoint('projects/42', checkpoint(3, 'a'));
    expect(await redis.type(keys.checkpoints)).toBe('zset');
    expect(await redis.pttl(keys.lease)).toBeGreaterThan(0);
    // Stored frames are whole entry frames, seq included.
    const [frame] = await redis.lrangeBuffer(keys.log, 0, 0);
    expect([...frame!.subarray(0, 3)]).toEqual([1, 0, 3]);
  });

  it('refuses bad input before anything reaches Redis', async () => {
    const log = new RedisUpdateLog({ redis: connection(), prefix: uniquePrefix('bad') });
    for (const call of [
      () => log.append('d', [entry(1), { ...entry(2), time: -1 }]),
      () => log.append('', [entry(1)]),
      () => log.storeCheckpoint('d', { ...checkpoint(1, 'a'), kind: 'update' }),
      () => log.storeCheckpoint('d', checkpoint(5, 'a')),
      () => log.read('d', { from: Number.NaN }),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(isYStateError(error, ErrorCode.INVALID_VALUE), String(error)).toBe(true);
    }
    expect(await log.head('d')).toBe(0);
    expect(() => new RedisUpdateLog({ redis: connection(), prefix: 'a{b}:' })).toThrow(/prefix/);
  });

  it('reports a Redis that cannot be reached as LOG_UNAVAILABLE', async () => {
    const store = createRedisStore({
      redis: { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, lazyConnect: true },
    });
    const error = await store.log.append('d', [entry(1)]).catch((caught: unknown) => caught);
    expect(isYStateError(error, ErrorCode.LOG_UNAVAILABLE), String(error)).toBe(true);
    await store.close();
  });
});

describe('checkpoint lease', () => {
  it('lets one node checkpoint a document at a time: others skip while the lease lives, then take over', async () => {
    const redis = connection();
    const prefix = uniquePrefix('lease');
    const a = new RedisUpdateLog({ redis, prefix, checkpointLeaseMs: 300, leaseToken: 'node-a' });
    const b = new RedisUpdateLog({ redis, prefix, checkpointLeaseMs: 300, leaseToken: 'node-b' });
    await a.append('d', [entry(1), entry(2), entry(3), entry(4)]);
    await a.storeCheckpoint('d', checkpoint(2, 'a'));
    // b is skipped (it resolves; the holder checkpoints the document) ...
    await b.storeCheckpoint('d', checkpoint(3, 'b'));
    expect((await b.latestCheckpoint('d'))?.origin).toBe('a');
    // ... while the holder may store again and renews its lease.
    await a.storeCheckpoint('d', checkpoint(3, 'a'));
    expect((await a.latestCheckpoint('d'))?.seq).toBe(3);
    await eventually(
      async () => (await redis.exists(documentKeys(prefix, 'd').lease)) === 0,
      5_000,
      'the lease to expire',
    );
    await b.storeCheckpoint('d', checkpoint(4, 'b'));
    expect((await a.latestCheckpoint('d'))?.origin).toBe('b');
    // Without a lease every store goes through.
    const free = new RedisUpdateLog({ redis, prefix: uniquePrefix('nolease'), checkpointLeaseMs: 0 });
    await free.append('d', [entry(1)]);
    await free.storeCheckpoint('d', checkpoint(1, 'x'));
    expect((await free.latestCheckpoint('d'))?.origin).toBe('x');
  });
});
