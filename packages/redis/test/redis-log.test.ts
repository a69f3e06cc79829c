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

describe('merging concurrent appends', () => {
  /** A log whose append script calls are recorded (frames per call); `fail` makes a call fail. */
  function recordedLog(fail?: (call: number) => boolean) {
    const log = new RedisUpdateLog({ redis: connection(), prefix: uniquePrefix('merge') });
    const calls: number[] = [];
    /** How many calls were in flight when each call was made. */
    const inFlight: number[] = [];
    let unanswered = 0;
    let onCall: ((call: number) => void) | undefined;
    // The log's script commands, seen through a proxy that counts (and can fail) append calls.
    const internals = log as unknown as {
      commands: Record<string, (...args: unknown[]) => Promise<unknown>>;
    };
    const commands = internals.commands;
    internals.commands = new Proxy(commands, {
      get(target, name) {
        if (name !== 'ystateAppend') return Reflect.get(target, name);
        return (...args: unknown[]) => {
          calls.push(args.length - 4);
          inFlight.push(unanswered++);
          const call = calls.length;
          const sent = fail?.(call)
            ? Promise.reject(new Error('connection lost'))
            : target.ystateAppend!(...args);
          onCall?.(call);
          return sent.finally(() => {
            unanswered--;
          });
        };
      },
    });
    return {
      log,
      calls,
      inFlight,
      onCall: (hook: (call: number) => void) => {
        onCall = hook;
      },
    };
  }

  it('sends the appends of one turn to a document in one script call; each caller gets its own entries', async () => {
    const { log, calls } = recordedLog();
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 1 + (b % 3) }, (_, i) => entry(b * 10 + i)),
    );
    const results = await Promise.all([
      ...batches.map((batch) => log.append('d', batch)),
      log.append('other', [entry(99)]),
    ]);
    // One call for 'd' (all 19 entries, in call order), one for 'other'.
    expect(calls.sort((a, b) => a - b)).toEqual([1, 19]);
    let seq = 1;
    batches.forEach((batch, b) => {
      expect(results[b]!.map((stored) => [stored.seq, stored.time])).toEqual(
        batch.map((input) => [seq++, input.time]),
      );
    });
    expect(results[10]!.map((stored) => stored.seq)).toEqual([1]);
    expect((await log.read('d')).map((stored) => stored.time)).toEqual(
      batches.flat().map((input) => input.time),
    );
  });

  it('holds appends that arrive while a call is in flight and sends them together next', async () => {
    const { log, calls, onCall } = recordedLog();
    const later: Promise<LogEntry[]>[] = [];
    onCall((call) => {
      // The first call is out: these arrive while it is in flight.
      if (call === 1) for (let i = 2; i <= 4; i++) later.push(log.append('d', [entry(i)]));
    });
    const first = await log.append('d', [entry(1)]);
    const rest = await Promise.all(later);
    expect(calls).toEqual([1, 3]);
    expect([first, ...rest].map((stored) => stored.map((e) => [e.seq, e.time]))).toEqual([
      [[1, 1]],
      [[2, 2]],
      [[3, 3]],
      [[4, 4]],
    ]);
  });

  it('fails only the caller with a bad entry; the others are appended with dense seqs', async () => {
    const { log, calls } = recordedLog();
    const outcomes = await Promise.allSettled([
      log.append('d', [entry(1)]),
      log.append('d', [entry(2), { ...entry(3), flags: -1 }]),
      log.append('d', [entry(4)]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(isYStateError((outcomes[1] as PromiseRejectedResult).reason, ErrorCode.INVALID_VALUE)).toBe(true);
    expect(calls).toEqual([2]);
    expect((await log.read('d')).map((stored) => [stored.seq, stored.time])).toEqual([
      [1, 1],
      [2, 4],
    ]);
  });

  it('rejects every caller of a failed call with LOG_UNAVAILABLE; the next call goes through', async () => {
    const { log, calls } = recordedLog((call) => call === 1);
    const outcomes = await Promise.allSettled([
      log.append('d', [entry(1)]),
      log.append('d', [entry(2), entry(3)]),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const { reason } = outcome as PromiseRejectedResult;
      expect(isYStateError(reason, ErrorCode.LOG_UNAVAILABLE), String(reason)).toBe(true);
    }
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/appending 2 entries to "d"/);
    expect((await log.append('d', [entry(4)])).map((stored) => stored.seq)).toEqual([1]);
    expect(calls).toEqual([3, 1]);
  });

  it('merges whole batches up to 1,000 entries per call; full calls do not wait; a larger batch goes alone', async () => {
    const { log, calls, inFlight } = recordedLog();
    const many = (n: number, from: number) => Array.from({ length: n }, (_, i) => entry(from + i));
    const results = await Promise.all([
      log.append('d', many(1500, 0)),
      log.append('d', many(600, 2000)),
      log.append('d', many(300, 3000)),
      log.append('d', many(200, 4000)),
    ]);
    expect(calls).toEqual([1500, 900, 200]);
    // Full calls go at once, pipelined; the rest waits until they are answered.
    expect(inFlight).toEqual([0, 1, 0]);
    expect(results.map((stored) => [stored[0]!.seq, stored.at(-1)!.seq])).toEqual([
      [1, 1500],
      [1501, 2100],
      [2101, 2400],
      [2401, 2600],
    ]);
  });

  it('close sends what was handed in and resolves once it is answered', async () => {
    const { log } = recordedLog();
    const appended = [log.append('d', [entry(1)]), log.append('e', [entry(2)]), log.append('d', [entry(3)])];
    await log.close();
    expect((await Promise.all(appended)).map((stored) => stored.map((e) => e.seq))).toEqual([[1], [1], [2]]);
    const error = await log.append('d', [entry(4)]).catch((caught: unknown) => caught);
    expect(isYStateError(error, ErrorCode.DOCUMENT_CLOSED)).toBe(true);
  });
});
