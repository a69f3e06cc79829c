import { Engine, type EntryInput, ErrorCode, isYStateError } from '@ystate/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { eventually, uniquePrefix, useRedisServer, within } from './helpers.js';

// appendonly yes, appendfsync always: a reply means the write is on disk.
const server = useRedisServer({ appendOnly: true });
const stores: RedisStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

function store(prefix: string): RedisStore {
  const made = createRedisStore({ redis: { host: server().host, port: server().port }, prefix });
  stores.push(made);
  return made;
}

function engineOn(node: RedisStore, nodeId: string): Engine {
  return new Engine({
    log: node.log,
    bus: node.bus,
    nodeId,
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    onError: () => undefined,
  });
}

const text = new TextEncoder();

function marked(marker: string): EntryInput {
  return { kind: 'update', time: Date.now(), origin: 'writer', flags: 0, payload: text.encode(marker) };
}

describe('redis-server killed with SIGKILL during a stream of appends', () => {
  it('keeps every append that resolved; in-flight appends end in an error or a later success, never silence', async () => {
    const node = store(uniquePrefix('kill'));
    const docId = 'stream';
    const acknowledged = new Map<number, string>();
    const errors: string[] = [];
    let killed = false;
    let afterRestart = 0;
    // Four writers, each appending one entry at a time; every call must settle within a bound.
    const writer = async (id: number) => {
      for (let n = 0; afterRestart < 200; n++) {
        const marker = `${id}:${n}`;
        try {
          const [entry] = await within(node.log.append(docId, [marked(marker)]), `append ${marker}`, 30_000);
          acknowledged.set(entry!.seq, marker);
          if (killed) afterRestart++;
        } catch (error) {
          if (!isYStateError(error)) throw error;
          errors.push(error.code);
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await eventually(() => acknowledged.size >= 300, 20_000, '300 acknowledged appends');
    await server().kill('SIGKILL');
    killed = true;
    await server().restart();
    await Promise.all(writers);

    // Every acknowledged append is in the log, at the seq it was acknowledged with.
    const read = await node.log.read(docId);
    const decoder = new TextDecoder();
    const bySeq = new Map(read.map((entry) => [entry.seq, decoder.decode(entry.payload)]));
    for (const [seq, marker] of acknowledged) expect(bySeq.get(seq)).toBe(marker);
    const head = await node.log.head(docId);
    expect(read.map((entry) => entry.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(acknowledged.size).toBeGreaterThanOrEqual(500);
    // Failures are allowed (reported as LOG_UNAVAILABLE), silence is not: every writer finished.
    // A resent append whose first try had landed before the kill is in the log twice (at-least-once).
    expect(head).toBeGreaterThanOrEqual(acknowledged.size);
    // An append that failed says so with a code callers can act on.
    expect(errors.filter((code) => code !== ErrorCode.LOG_UNAVAILABLE)).toEqual([]);
  });

  it('three engines writing through the kill converge once Redis is back', async () => {
    const prefix = uniquePrefix('engines');
    const engines = [0, 1, 2].map((i) => engineOn(store(prefix), `n${i}`));
    const docId = 'shared';
    await Promise.all(engines.map((engine) => engine.open(docId)));
    let stop = false;
    let written = 0;
    const outcomes = { ok: 0, failed: 0 };
    const writer = async (engine: Engine, i: number) => {
      for (let n = 0; !stop; n++) {
        try {
          await within(
            engine.write(docId, (tx) => tx.set(`/n${i}`, n)),
            `write ${i}:${n}`,
            30_000,
          );
          outcomes.ok++;
          written++;
        } catch (error) {
          if (!isYStateError(error)) throw error;
          outcomes.failed++;
        }
      }
    };
    const writers = engines.map(writer);
    await eventually(() => written >= 150, 20_000, '150 writes');
    await server().kill('SIGKILL');
    await server().restart();
    const resumed = written;
    await eventually(() => written >= resumed + 150, 30_000, '150 writes after the restart');
    stop = true;
    await Promise.all(writers);
    await Promise.all(engines.map((engine) => engine.flush()));

    const log = stores[stores.length - 1]!.log;
    const head = await log.head(docId);
    // Nobody calls catchUp: the buses report their reconnect and the engines read the list.
    await eventually(() => engines.every((engine) => engine.seqOf(docId) === head), 15_000, 'convergence');
    const replayed = (await engines[0]!.stateAt(docId, { seq: head })).json;
    for (const engine of engines) expect(await engine.get(docId)).toEqual(replayed);
    for (let i = 0; i < 3; i++) expect(typeof replayed[`n${i}`]).toBe('number');
    expect(outcomes.ok).toBeGreaterThanOrEqual(300);
    await Promise.all(engines.map((engine) => engine.close()));
  });
});

describe('CLIENT KILL TYPE pubsub during a stream', () => {
  it('fills the gap from the list after the subscriber reconnects: nothing is lost', async () => {
    const prefix = uniquePrefix('pubsub');
    const writerNode = store(prefix);
    const readerNode = store(prefix);
    const writerEngine = engineOn(writerNode, 'writer');
    const readerEngine = engineOn(readerNode, 'reader');
    let reconnects = 0;
    readerNode.bus.onReconnect?.(() => {
      reconnects++;
    });
    const docId = 'live';
    await readerEngine.open(docId);
    await writerEngine.write(docId, (tx) => tx.set('/items', []));
    for (let i = 0; i < 100; i++) await writerEngine.write(docId, (tx) => tx.push('/items', i));
    await eventually(() => readerEngine.seqOf(docId) === 101, 5_000, 'the reader to follow');

    await server().cli('client', 'kill', 'type', 'pubsub');
    // These are published while the reader's subscriber is gone; nothing comes after them.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => writerEngine.write(docId, (tx) => tx.push('/items', 100 + i))),
    );
    const head = await writerNode.log.head(docId);
    await eventually(() => readerEngine.seqOf(docId) === head, 10_000, 'the reader to catch up');
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(await readerEngine.get(docId, '/items')).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await writerEngine.close();
    await readerEngine.close();
  });
});
