import { isDeepStrictEqual } from 'node:util';
import { Engine, ErrorCode, isYStateError } from '@ystate/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisPersistence } from 'y-redis';
import * as Y from 'yjs';
import { createRedisStore, importYRedisDocument, type RedisStore, YRedisUpdateLog } from '../src/index.js';
import { eventually, uniquePrefix, useRedisServer } from './helpers.js';

const server = useRedisServer();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function yRedis(): RedisPersistence {
  const persistence = new RedisPersistence({ redisOpts: { host: server().host, port: server().port } });
  cleanups.push(() => persistence.destroy());
  return persistence;
}

function store(layout: 'ystate' | 'y-redis'): RedisStore {
  const made = createRedisStore({ redis: { host: server().host, port: server().port }, layout });
  cleanups.push(() => made.close());
  return made;
}

function engineOn(node: RedisStore): Engine {
  return new Engine({
    log: node.log,
    bus: node.bus,
    nodeId: 'ystate',
    idleTimeoutMs: Number.POSITIVE_INFINITY,
  });
}

/** What a y-redis client shows: the Y.Map ystate keeps its JSON in. */
function jsonOf(ydoc: Y.Doc): unknown {
  return ydoc.getMap('state').toJSON();
}

describe('y-redis layout: a ystate node and a y-redis RedisPersistence share a live document', () => {
  it('concurrent edits from both sides converge, and fresh loaders on either side see the same document', async () => {
    const name = uniquePrefix('interop').slice(0, -1);
    const persistence = yRedis();
    const ydoc = new Y.Doc();
    await persistence.bindState(name, ydoc).synced;
    const engine = engineOn(store('y-redis'));
    await engine.open(name);

    const state = ydoc.getMap('state');
    ydoc.transact(() => state.set('fromYRedis', new Y.Array()));
    await engine.write(name, (tx) => tx.set('/fromYstate', []));
    await eventually(() => state.has('fromYstate'), 5_000, 'y-redis to see the ystate write');
    // Both sides write at once, without waiting for each other.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      ydoc.transact(() => {
        (state.get('fromYRedis') as Y.Array<number>).push([i]);
        state.set(`y${i % 5}`, i);
      });
      writes.push(
        engine.write(name, (tx) => {
          tx.push('/fromYstate', i);
          tx.set(`/s${i % 5}`, i);
        }),
      );
    }
    await Promise.all(writes);
    const updates = new Redis({ host: server().host, port: server().port });
    cleanups.push(() => updates.quit());
    await eventually(
      async () => {
        const head = await updates.llen(`${name}:updates`);
        return engine.seqOf(name) === head && isDeepStrictEqual(jsonOf(ydoc), await engine.get(name));
      },
      10_000,
      'convergence',
    );
    const expected = {
      fromYRedis: Array.from({ length: 60 }, (_, i) => i),
      fromYstate: Array.from({ length: 60 }, (_, i) => i),
      ...Object.fromEntries(
        [0, 1, 2, 3, 4].flatMap((k) => [
          [`y${k}`, 55 + k],
          [`s${k}`, 55 + k],
        ]),
      ),
    };
    expect(await engine.get(name)).toEqual(expected);
    expect(jsonOf(ydoc)).toEqual(expected);

    // A y-redis instance that loads the list now, and a fresh ystate node, agree.
    const fresh = new Y.Doc();
    await yRedis().bindState(name, fresh).synced;
    expect(jsonOf(fresh)).toEqual(expected);
    const freshEngine = engineOn(store('y-redis'));
    expect(await freshEngine.get(name)).toEqual(expected);
    await freshEngine.close();
    await engine.close();
  });

  it('refuses what the layout cannot hold: lifecycle entries and encoded payloads', async () => {
    const node = store('y-redis');
    const payload = Uint8Array.of(0);
    for (const entry of [
      { kind: 'lifecycle' as const, time: 1, origin: 'x', flags: 0, payload },
      { kind: 'update' as const, time: 1, origin: 'x', flags: 1, payload },
    ]) {
      const refused = await node.log.append('nope', [entry]).catch((error: unknown) => error);
      expect(isYStateError(refused, ErrorCode.INVALID_VALUE)).toBe(true);
    }
    expect(await node.log.head('nope')).toBe(0);
    expect(() =>
      createRedisStore({ redis: server().url, layout: 'y-redis', codecs: { compression: {} } }),
    ).toThrow(/codecs/);
  });
});

describe('y-redis layout: signals', () => {
  it("travel between ystate nodes on a ystate-only channel, since y-redis 1.x has none; y-redis's own channel stays quiet", async () => {
    const name = uniquePrefix('aware').slice(0, -1);
    const persistence = yRedis();
    const ydoc = new Y.Doc();
    await persistence.bindState(name, ydoc).synced;
    const [one, two] = [store('y-redis'), store('y-redis')];
    const heard: number[][] = [];
    const ownEcho: number[][] = [];
    await two.bus.onSignal!(name, (message) => heard.push([...message]));
    await one.bus.onSignal!(name, (message) => ownEcho.push([...message]));
    // What goes over which channel, as any Redis client sees it.
    const raw = new Redis({ host: server().host, port: server().port });
    cleanups.push(() => raw.quit());
    const seen: string[] = [];
    raw.on('message', (channel: string) => seen.push(channel));
    await raw.subscribe(name, `${name}:ystate-signal`);

    await one.bus.signal!(name, Uint8Array.of(7, 8));
    await eventually(() => heard.length === 1, 5_000, 'the signal at the other node');
    expect(heard).toEqual([[7, 8]]);
    await two.bus.signal!(name, Uint8Array.of(9));
    await eventually(() => ownEcho.length === 1, 5_000, 'the answer');
    expect(ownEcho).toEqual([[9]]);
    await eventually(() => seen.length === 2, 5_000, 'the raw subscriber');
    expect(seen).toEqual([`${name}:ystate-signal`, `${name}:ystate-signal`]);
    // Nothing was written to the list y-redis reads.
    const commands = new Redis({ host: server().host, port: server().port });
    cleanups.push(() => commands.quit());
    expect(await commands.llen(`${name}:updates`)).toBe(0);
  });

  it("refuses to use one channel for both a document's signals and another document's entries", async () => {
    const name = uniquePrefix('clash').slice(0, -1);
    const node = store('y-redis');
    await node.bus.subscribe(`${name}:ystate-signal`, () => undefined);
    const refused = await node.bus.onSignal!(name, () => undefined).catch((error: unknown) => error);
    expect(isYStateError(refused, ErrorCode.INVALID_VALUE)).toBe(true);
  });
});

describe('importYRedisDocument', () => {
  it('turns a y-redis document into a ystate log: same updates in order, a checkpoint at the head, same JSON', async () => {
    const name = uniquePrefix('legacy').slice(0, -1);
    const persistence = yRedis();
    const ydoc = new Y.Doc();
    const bound = persistence.bindState(name, ydoc);
    await bound.synced;
    const state = ydoc.getMap('state');
    const text = new Y.Text('hello');
    state.set('title', text);
    for (let i = 0; i < 40; i++) {
      ydoc.transact(() => state.set(`k${i % 7}`, { i, tags: ['a', String(i)] }));
      text.insert(text.length, ` ${i}`);
    }
    const raw = new Redis({ host: server().host, port: server().port });
    cleanups.push(() => raw.quit());
    await eventually(
      async () => (await raw.llen(`${name}:updates`)) === 81,
      5_000,
      'y-redis to store every update',
    );
    const source = await raw.lrangeBuffer(`${name}:updates`, 0, -1);

    const target = store('ystate');
    const result = await importYRedisDocument({
      redis: raw,
      name,
      log: target.log,
      docId: 'imported/doc',
      batchSize: 16,
    });
    expect(result.entries).toBe(81);
    expect(result.checkpointSeq).toBe(81);
    const entries = await target.log.read('imported/doc');
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
    expect(entries.map((entry) => Buffer.from(entry.payload))).toEqual(source);
    expect(entries.every((entry) => entry.kind === 'update' && entry.origin === 'y-redis')).toBe(true);
    expect((await target.log.latestCheckpoint('imported/doc'))?.seq).toBe(81);

    const engine = engineOn(target);
    expect(await engine.get('imported/doc')).toEqual(jsonOf(ydoc));
    // History came along: the state after the first update is the title alone.
    expect((await engine.stateAt('imported/doc', { seq: 1 })).json).toEqual({ title: 'hello' });
    await engine.close();

    // Back again: the imported log read through the y-redis layout class of another name is byte-identical.
    const roundTrip = new YRedisUpdateLog({ redis: raw, prefix: uniquePrefix('back') });
    await roundTrip.append(
      'doc',
      entries.map(({ seq: _seq, ...entry }) => ({ ...entry, time: 0, origin: '' })),
    );
    expect((await roundTrip.read('doc')).map((entry) => Buffer.from(entry.payload))).toEqual(source);

    const again = await importYRedisDocument({
      redis: raw,
      name,
      log: target.log,
      docId: 'imported/doc',
    }).catch((error: unknown) => error);
    expect(isYStateError(again, ErrorCode.DOCUMENT_EXISTS)).toBe(true);
  });
});
