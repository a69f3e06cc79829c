import { randomBytes } from 'node:crypto';
import { Engine, EntryFlags } from '@ystate/core';
import { type CodecOptions, withCodecs } from '@ystate/core/codecs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisStore, documentKeys, type RedisStore, RedisUpdateLog } from '../src/index.js';
import { connectTo, eventually, uniquePrefix, useRedisServer } from './helpers.js';

const server = useRedisServer();
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

const codecs: CodecOptions = {
  compression: { thresholdBytes: 64 },
  encryption: { keys: { k1: randomBytes(32) }, currentKeyId: 'k1' },
};
const secret = 'top secret '.repeat(40);

describe('codecs over the Redis log', () => {
  it('withCodecs(RedisUpdateLog) round-trips entries and checkpoints; Redis holds only encrypted payloads', async () => {
    const redis = connectTo(server());
    closers.push(() => redis.quit());
    const prefix = uniquePrefix('codec');
    const raw = new RedisUpdateLog({ redis, prefix });
    const log = withCodecs(raw, codecs);
    const payload = new TextEncoder().encode(secret);
    const [stored] = await log.append('d', [{ kind: 'update', time: 5, origin: 'o', flags: 0, payload }]);
    expect(stored!.seq).toBe(1);
    await log.storeCheckpoint('d', { kind: 'checkpoint', seq: 1, time: 6, origin: 'o', flags: 0, payload });
    const [read] = await log.read('d');
    expect(new TextDecoder().decode(read!.payload)).toBe(secret);
    expect(new TextDecoder().decode((await log.latestCheckpoint('d'))!.payload)).toBe(secret);
    const [rawEntry] = await raw.read('d');
    expect(rawEntry!.flags).toBe(EntryFlags.compressed | EntryFlags.encrypted);
    expect(rawEntry!.keyId).toBe('k1');
    const bytes = Buffer.concat(await redis.lrangeBuffer(documentKeys(prefix, 'd').log, 0, -1));
    expect(bytes.includes(Buffer.from('top secret'))).toBe(false);
  });

  it('engines on stores with codecs converge; the bus carries the encrypted frames and decodes them', async () => {
    const prefix = uniquePrefix('codec-engines');
    const stores: RedisStore[] = [0, 1].map(() =>
      createRedisStore({ redis: { host: server().host, port: server().port }, prefix, codecs }),
    );
    for (const store of stores) closers.push(() => store.close());
    expect(stores[0]!.log.publishesAppends).toBe(true);
    // Listen on the channel as an outsider would.
    const spy = new Redis({ host: server().host, port: server().port });
    closers.push(async () => spy.disconnect());
    const seen: Buffer[] = [];
    spy.on('messageBuffer', (_channel: Buffer, message: Buffer) => seen.push(message));
    await spy.subscribe(documentKeys(prefix, 'doc').channel);

    const [a, b] = stores.map(
      (store, i) =>
        new Engine({
          log: store.log,
          bus: store.bus,
          nodeId: `n${i}`,
          idleTimeoutMs: Number.POSITIVE_INFINITY,
        }),
    ) as [Engine, Engine];
    await b.open('doc');
    await a.write('doc', (tx) => tx.set('/text', secret));
    await a.write('doc', (tx) => tx.set('/n', 1));
    await eventually(() => b.seqOf('doc') === 2, 5_000, 'b to receive both entries');
    expect(await b.get('doc')).toEqual({ text: secret, n: 1 });
    expect((await b.stateAt('doc', { seq: 1 })).json).toEqual({ text: secret });
    await eventually(() => seen.length === 2, 5_000, 'the spy to see both messages');
    for (const message of seen) expect(message.includes(Buffer.from('top secret'))).toBe(false);
    await a.close();
    await b.close();
  });
});
