/**
 * redis-trace-load: the automerge-paper trace stored in Redis as one entry per edit, then loaded
 * cold, versus y-redis loading the same updates from its own list.
 *
 * Setup (not timed): the edits are applied to a Y.Text at `/text` of a StateDocument and every
 * Yjs update it emits is captured (one creating the text, then one per edit). A `redis-server` of
 * our own (no persistence; its slow log records every command of 1 ms or more) gets:
 * - ystate's layout, through ystate's own store (`createRedisStore(...).log.append`, 1,000
 *   entries per call): document `paper` with the entries only, and document `paper-checkpointed`
 *   with the same entries plus a checkpoint at the last multiple of 1,000 entries (seq 259,000 of
 *   259,779 at full size), about where the engine's policy (1,000 entries, spaced by a tenth of
 *   the last checkpoint's size) leaves its latest: what a document looks like after the engine
 *   has run;
 * - y-redis's layout: the raw updates RPUSHed to the list `paper:updates` (pipelined), which is
 *   what y-redis 1.0.3 stores for a document and reads back on `bindState`.
 *
 * Each sample runs in a fresh process and times one cold load, connection included:
 * - ystate: `createRedisStore`, `new Engine({ log, bus })`, `engine.open()` — the core loader
 *   reads 500 entries per round trip and yields to the event loop every ~10 ms of work;
 * - ystate, after a checkpoint: the same on `paper-checkpointed` (the checkpoint, then the tail);
 * - y-redis 1.0.3 (the peer): `new RedisPersistence`, `bindState(name, ydoc)`, `await synced` — it
 *   reads the whole list with one LRANGE and applies it in one transaction.
 * Every sample checks that the loaded text equals the expected text (`endContent` at full size).
 * Beside the load, each sample records what Redis spent on it (CPU from `INFO cpu`, taken by the
 * parent around the child) and its longest command (from the slow log).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine } from '@ystate/core';
import { createRedisStore } from '@ystate/redis';
import { startRedisServer } from '@ystate/redis/testing';
import { RedisPersistence } from 'y-redis';
import * as Y from 'yjs';
import { measure, runInChild, runScenario } from './harness.mjs';
import { redisVersion } from './servers.mjs';
import { captureTraceUpdates } from './trace-updates.mjs';

/** The y-redis document name and ystate's document without a checkpoint. */
const DOC_ID = 'paper';
/** ystate's document with the checkpoint the engine would have left. */
const CHECKPOINTED_ID = 'paper-checkpointed';
/** Entries per append and per RPUSH while writing (setup only). */
const WRITE_BATCH = 1000;
/** The engine's default `checkpointEvery.entries`. */
const CHECKPOINT_EVERY = 1000;
/** The slow log keeps commands that took at least this long (µs). */
const SLOWLOG_MICROS = 1000;
const ORIGIN = 'author';

const variants = [
  { id: 'ystate', label: 'ystate Engine, Redis', role: 'ours' },
  { id: 'ystate-checkpoint', label: 'ystate, after a checkpoint', role: 'ours' },
  { id: 'y-redis', label: 'y-redis 1.0.3', role: 'peer' },
];

await runScenario({
  name: 'redis-trace-load',
  title: 'Cold load of the automerge-paper trace from Redis, one entry per edit, vs y-redis',
  versions: ['@ystate/core', '@ystate/redis', 'ioredis', 'y-redis', 'yjs'],
  sizes: {
    smoke: { edits: 5_000, rounds: 2 },
    full: { edits: 259_778, rounds: 5 },
  },
  metrics: [
    { key: 'timeMs', label: 'time to loaded', unit: 'ms', primary: true },
    { key: 'maxBlockMs', label: 'longest event-loop block', unit: 'ms', target: 50 },
    { key: 'rssDeltaMB', label: 'RSS growth', unit: 'MB' },
  ],
  setup,
  child,
});

/** Captures the updates, starts Redis and writes both layouts; returns the variants. */
async function setup(size) {
  // One update creates the text, then one per edit; the checkpoint is the state after the last
  // multiple of 1,000 entries, about where the engine's policy would have stored it.
  const entries = size.edits + 1;
  const checkpointSeq = Math.floor(entries / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
  let checkpoint;
  const { updates, expected, captureMs } = captureTraceUpdates(size.edits, {
    onUpdate: (_update, count, ydoc) => {
      if (count === checkpointSeq) checkpoint = Y.encodeStateAsUpdate(ydoc);
    },
  });

  const dir = await mkdtemp(join(tmpdir(), 'ystate-bench-redis-trace-load-'));
  writeFileSync(join(dir, 'expected.txt'), expected);
  const server = await startRedisServer({
    args: ['--slowlog-log-slower-than', String(SLOWLOG_MICROS), '--slowlog-max-len', '100000'],
  });
  const cleanup = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const started = performance.now();
    const written = await writeRedis(server.url, updates, checkpointSeq, checkpoint);
    const writeMs = performance.now() - started;
    const version = await redisVersion(server);
    const payload = { port: server.port, dir };
    return {
      params: {
        trace: 'automerge-paper',
        edits: size.edits,
        entries,
        updateBytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
        textLength: expected.length,
        checkpointSeq,
        checkpointBytes: checkpoint?.byteLength ?? 0,
        tailEntries: entries - checkpointSeq,
        engine: 'default options (loadChunk 500, ~10 ms of work between yields), with the Redis bus',
        redis: `${version}, no persistence (save '', appendonly no), local loopback`,
        isolation:
          'each sample in a fresh Node process (--expose-gc, gc before timing); store connection, engine and open all timed',
      },
      setup: {
        captureMs: Math.round(captureMs),
        redisWriteMs: Math.round(writeMs),
        ...written,
      },
      variants: variants.map((variant) => ({
        ...variant,
        run: async () => {
          await server.cli('slowlog', 'reset');
          const cpuBefore = await redisCpuSeconds(server);
          const sample = await runInChild(import.meta.url, { ...payload, variant: variant.id });
          const redisCpuMs = ((await redisCpuSeconds(server)) - cpuBefore) * 1000;
          return { ...sample, redisCpuMs: round(redisCpuMs, 1), ...(await longestCommand(server)) };
        },
      })),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Writes the entries in ystate's layout (twice: with and without a checkpoint) and the raw updates in y-redis's. */
async function writeRedis(url, updates, checkpointSeq, checkpoint) {
  const store = createRedisStore({ redis: url });
  try {
    for (const docId of [DOC_ID, CHECKPOINTED_ID]) {
      for (let i = 0; i < updates.length; i += WRITE_BATCH) {
        await store.log.append(docId, updates.slice(i, i + WRITE_BATCH).map(entryOf));
      }
      const head = await store.log.head(docId);
      if (head !== updates.length) throw new Error(`${docId} holds ${head} entries, not ${updates.length}`);
    }
    if (checkpoint) {
      await store.log.storeCheckpoint(CHECKPOINTED_ID, {
        kind: 'checkpoint',
        seq: checkpointSeq,
        time: Date.now(),
        origin: ORIGIN,
        flags: 0,
        payload: checkpoint,
      });
      const stored = await store.log.latestCheckpoint(CHECKPOINTED_ID);
      if (stored?.seq !== checkpointSeq) throw new Error(`the checkpoint was not stored at ${checkpointSeq}`);
    }
    // What y-redis stores: each update as one element of `<name>:updates`.
    const key = `${DOC_ID}:updates`;
    const pipeline = store.redis.pipeline();
    for (let i = 0; i < updates.length; i += WRITE_BATCH) {
      pipeline.rpush(key, ...updates.slice(i, i + WRITE_BATCH).map((update) => Buffer.from(update)));
    }
    await pipeline.exec();
    const length = await store.redis.llen(key);
    if (length !== updates.length) throw new Error(`${key} holds ${length} updates, not ${updates.length}`);
    const memory = (await store.redis.info('memory')).match(/^used_memory:(\d+)/m)?.[1];
    return { redisUsedMemoryMB: round(Number(memory) / 2 ** 20, 1) };
  } finally {
    await store.close();
  }
}

/** One sample, in a fresh process: times the cold load of one variant and checks the text. */
async function child({ variant, port, dir }) {
  const expected = readFileSync(join(dir, 'expected.txt'), 'utf8');
  const url = `redis://127.0.0.1:${port}`;
  let result;
  let text;
  if (variant === 'ystate' || variant === 'ystate-checkpoint') {
    const docId = variant === 'ystate' ? DOC_ID : CHECKPOINTED_ID;
    const errors = [];
    result = await measure(async () => {
      const store = createRedisStore({ redis: url });
      const engine = new Engine({
        log: store.log,
        bus: store.bus,
        idleTimeoutMs: Number.POSITIVE_INFINITY,
        onError: (error, operation) => errors.push(`${operation}: ${error}`),
      });
      return { store, engine, doc: await engine.open(docId) };
    });
    const { store, engine, doc } = result.value;
    text = doc.get('/text');
    await engine.close();
    await store.close();
    if (errors.length > 0) throw new Error(`${variant}: ${errors.join('; ')}`);
  } else if (variant === 'y-redis') {
    result = await measure(async () => {
      const persistence = new RedisPersistence({ redisOpts: { host: '127.0.0.1', port } });
      const ydoc = new Y.Doc();
      await persistence.bindState(DOC_ID, ydoc).synced;
      return { persistence, ydoc };
    });
    const { persistence, ydoc } = result.value;
    text = ydoc.getMap('state').get('text')?.toString();
    await persistence.destroy();
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  if (text !== expected) throw new Error(`${variant}: the loaded text differs from the expected text`);
  const { timeMs, maxBlockMs, rssDeltaMB } = result;
  return { timeMs, maxBlockMs, rssDeltaMB, verified: true };
}

/** The CPU time redis-server has used (user + system, seconds) from `INFO cpu`. */
async function redisCpuSeconds(server) {
  const info = await server.cli('info', 'cpu');
  const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * The longest command Redis ran since the slow log was reset (null when none took 1 ms or more),
 * and how many took that long. `SLOWLOG GET` in redis-cli's plain output: per entry its id, time,
 * duration (µs), then the command's arguments.
 */
async function longestCommand(server) {
  const count = Number((await server.cli('slowlog', 'len')).trim());
  if (!(count > 0)) return { redisLongestCommandMs: null, redisSlowCommands: 0 };
  const lines = (await server.cli('--no-raw', 'slowlog', 'get', String(count))).split('\n');
  let longest = 0;
  let name = '';
  // Each entry starts with `N) 1) (integer) id`, then `2) (integer) time`, `3) (integer) µs`, `4) 1) "COMMAND"`.
  for (let i = 0; i < lines.length; i++) {
    const duration = lines[i]?.match(/^\s+3\) \(integer\) (\d+)/);
    if (!duration) continue;
    const micros = Number(duration[1]);
    if (micros > longest) {
      longest = micros;
      name = lines[i + 1]?.match(/"([^"]+)"/)?.[1]?.toLowerCase() ?? '';
    }
  }
  return {
    redisLongestCommandMs: round(longest / 1000, 1),
    redisLongestCommand: name,
    redisSlowCommands: count,
  };
}

function entryOf(payload) {
  return { kind: 'update', time: Date.now(), origin: ORIGIN, flags: 0, payload };
}

function round(value, digits) {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
