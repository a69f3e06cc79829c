/**
 * redis-append: appends per second from one node into a local Redis, as a share of what
 * `redis-benchmark -t rpush -P 32` reaches on the same server in the same run, versus y-redis.
 *
 * Setup (not timed): a `redis-server` of our own on a free port (no persistence: `--save ''`,
 * `--appendonly no`); real keystroke updates — the first edits of the automerge-paper trace
 * applied to a Y.Text at `/text` of a StateDocument, one Yjs update per edit (~24 bytes each) —
 * written to a file the children read. Every document gets the same updates (each is a separate
 * document, so this is N authors typing the same paper). Once, as a diagnostic: what Redis itself
 * can take of ystate's append script, driven by `redis-benchmark` (no Node in the way).
 *
 * Variants, alternating, each sample of ours and of the peer in a fresh Node process:
 * - the ceiling: `redis-benchmark -t rpush -P 32 -n <appends> -q` (50 connections, 3-byte values);
 * - ystate, `log.append` of `createRedisStore(...)`: 256 concurrent callers, one entry each per
 *   call, over 16 documents (ioredis auto-pipelining; one append script call per entry);
 * - ystate, `engine.receive` on an Engine over the same store (log and bus): 16 documents × 16
 *   concurrent writers, each awaiting its update's durability before sending the next (group
 *   commit: what queues while an append is in flight goes out in the next one);
 * - the peer, y-redis 1.0.3 `RedisPersistence`: a Y.Doc bound per document, the same updates
 *   applied to it 256 per event-loop turn; done when its list holds them all (its Pub/Sub message
 *   after the last RPUSH, which carries the list length).
 * Every sample checks that the stored updates of a document rebuild the expected text. Redis is
 * flushed before each sample (untimed).
 */

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Engine } from '@ystate/core';
import { createRedisStore, documentKeys } from '@ystate/redis';
import { startRedisServer } from '@ystate/redis/testing';
import { RedisPersistence } from 'y-redis';
import * as Y from 'yjs';
import { frameUpdates, runInChild, runScenario, unframeUpdates } from './harness.mjs';
import { redisVersion } from './servers.mjs';
import { captureTraceUpdates } from './trace-updates.mjs';

const run = promisify(execFile);

/** Documents the appends are spread over. */
const DOCS = 16;
/** Appends in flight at once (log.append callers; engine writers in total; y-redis updates per turn). */
const IN_FLIGHT = 256;
/** redis-benchmark pipeline depth for the ceiling (issue 7, scenario 4). */
const PIPELINE = 32;
const ORIGIN = 'client-1';
/** The fewest requests a ceiling run makes, whatever the size. */
const CEILING_MIN_REQUESTS = 100_000;

const variants = [
  { id: 'ceiling', label: `redis-benchmark rpush -P ${PIPELINE}`, role: 'ceiling' },
  { id: 'ystate-log', label: `ystate log.append ×${IN_FLIGHT}`, role: 'ours' },
  {
    id: 'ystate-engine',
    label: `ystate Engine ${DOCS}×${IN_FLIGHT / DOCS}`,
    role: 'ours',
  },
  { id: 'y-redis', label: 'y-redis 1.0.3', role: 'peer' },
];

await runScenario({
  name: 'redis-append',
  title: 'Appends per second into a local Redis from one node, vs redis-benchmark rpush -P 32',
  versions: ['@ystate/core', '@ystate/redis', 'ioredis', 'y-redis', 'yjs'],
  sizes: {
    smoke: { appends: 800, rounds: 2 },
    full: { appends: 100_000, rounds: 5 },
  },
  metrics: [
    { key: 'appendsPerSec', label: 'appends/s', unit: '/s', primary: true, lowerIsBetter: false },
    {
      key: 'shareOfCeiling',
      label: 'share of the rpush ceiling',
      unit: '%',
      target: 20,
      lowerIsBetter: false,
    },
    { key: 'redisCpuUs', label: 'redis-server CPU per append', unit: 'µs' },
    { key: 'clientCpuUs', label: 'client CPU per append', unit: 'µs' },
  ],
  setup,
  child,
});

/** Starts Redis, captures the updates, measures the script diagnostic; returns the variants. */
async function setup(size) {
  if (size.appends % DOCS !== 0) throw new Error(`appends must be a multiple of ${DOCS}`);
  const perDoc = size.appends / DOCS;
  // One update creates the text, then one per edit.
  const { updates, expected } = captureTraceUpdates(perDoc - 1);

  const dir = await mkdtemp(join(tmpdir(), 'ystate-bench-redis-append-'));
  writeFileSync(join(dir, 'expected.txt'), expected);
  writeFileSync(join(dir, 'updates.bin'), frameUpdates(updates));
  const server = await startRedisServer();
  const cleanup = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const updateBytes = updates.map((update) => update.byteLength);
    const script = await scriptCeiling(server, size.appends, updates);
    // A first ceiling run warms the server; it is the reference for samples taken before the
    // first ceiling sample of the run. Each sample's share is taken against the latest ceiling.
    const warmupCeiling = (await benchmarkRpush(server, size.appends)).appendsPerSec;
    let latestCeiling = warmupCeiling;
    const payload = { port: server.port, dir, docs: DOCS, inFlight: IN_FLIGHT };
    return {
      params: {
        appends: size.appends,
        documents: DOCS,
        appendsPerDocument: perDoc,
        inFlight: IN_FLIGHT,
        trace: 'automerge-paper (first edits, one Yjs update each)',
        updateBytes: {
          mean: round(updateBytes.reduce((sum, n) => sum + n, 0) / updateBytes.length, 1),
          min: Math.min(...updateBytes),
          max: Math.max(...updateBytes),
        },
        frameBytes: script.frameBytes,
        ceilingCommand: `redis-benchmark -t rpush -P ${PIPELINE} -n ${Math.max(size.appends, CEILING_MIN_REQUESTS)} -q --csv`,
        redis: `${await redisVersion(server)}, no persistence (save '', appendonly no)`,
        engine: 'default options (granularity update, checkpoint every 1,000 entries), with the Redis bus',
        yRedis: `updates applied to bound Y.Docs ${IN_FLIGHT} per event-loop turn; its ioredis ${yRedisIoredisVersion()}`,
        isolation: 'each ystate and y-redis sample in a fresh Node process; Redis flushed before each sample',
      },
      setup: {
        scriptDiagnostic: script.results,
        scriptDiagnosticNote:
          'redis-benchmark driving the ystate append script (EVALSHA, -P 32) with N frames per call: what Redis can take of it with no Node client in the way; measured once, not alternated',
        warmupCeilingPerSec: Math.round(warmupCeiling),
      },
      variants: variants.map((variant) => ({
        ...variant,
        run: async () => {
          await server.cli('flushall');
          if (variant.id === 'ceiling') {
            const sample = await benchmarkRpush(server, size.appends);
            latestCeiling = sample.appendsPerSec;
            return { ...sample, shareOfCeiling: 100 };
          }
          const sample = await runInChild(import.meta.url, { ...payload, variant: variant.id });
          return { ...sample, shareOfCeiling: (100 * sample.appendsPerSec) / latestCeiling };
        },
      })),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One sample of ours or the peer, in a fresh process: appends every update, timed. */
async function child({ variant, port, dir, docs, inFlight }) {
  const expected = readFileSync(join(dir, 'expected.txt'), 'utf8');
  const updates = unframeUpdates(readFileSync(join(dir, 'updates.bin')));
  const ids = Array.from({ length: docs }, (_, i) => `doc-${i}`);
  const appends = updates.length * docs;
  const url = `redis://127.0.0.1:${port}`;
  if (variant === 'ystate-log') {
    const store = createRedisStore({ redis: url });
    try {
      const sample = await timed(store.redis, appends, async () => {
        let next = 0;
        const caller = async () => {
          for (let i = next++; i < appends; i = next++) {
            const entry = { kind: 'update', time: Date.now(), origin: ORIGIN, flags: 0 };
            await store.log.append(ids[i % docs], [{ ...entry, payload: updates[Math.floor(i / docs)] }]);
          }
        };
        await Promise.all(Array.from({ length: inFlight }, caller));
      });
      for (const id of ids) await expectHead(store.log, id, updates.length);
      const entries = await store.log.read(ids[0]);
      checkText(
        variant,
        entries.map((entry) => entry.payload),
        expected,
      );
      return sample;
    } finally {
      await store.close();
    }
  }
  if (variant === 'ystate-engine') {
    const store = createRedisStore({ redis: url });
    const errors = [];
    const engine = new Engine({
      log: store.log,
      bus: store.bus,
      idleTimeoutMs: Number.POSITIVE_INFINITY,
      onError: (error, operation, docId) => errors.push(`${operation} ${docId}: ${error}`),
    });
    try {
      for (const id of ids) await engine.open(id);
      const writersPerDoc = inFlight / docs;
      const sample = await timed(store.redis, appends, async () => {
        const writers = ids.flatMap((id) => {
          let next = 0;
          const writer = async () => {
            for (let i = next++; i < updates.length; i = next++) {
              await engine.receive(id, updates[i], { origin: ORIGIN });
            }
          };
          return Array.from({ length: writersPerDoc }, writer);
        });
        await Promise.all(writers);
      });
      for (const id of ids) {
        await expectHead(store.log, id, updates.length);
        if ((await engine.get(id, '/text')) !== expected)
          throw new Error(`${variant}: ${id} has the wrong text`);
      }
      const entries = await store.log.read(ids[0]);
      checkText(
        variant,
        entries.map((entry) => entry.payload),
        expected,
      );
      await engine.close();
      if (errors.length > 0) throw new Error(`${variant}: ${errors.join('; ')}`);
      return sample;
    } finally {
      await store.close();
    }
  }
  if (variant === 'y-redis') {
    const persistence = new RedisPersistence({ redisOpts: { host: '127.0.0.1', port } });
    try {
      const ydocs = ids.map((id) => {
        const ydoc = new Y.Doc();
        return { ydoc, bound: persistence.bindState(id, ydoc) };
      });
      await Promise.all(ydocs.map(({ bound }) => bound.synced));
      // y-redis publishes the list length after each RPUSH has been answered: the last message
      // of each document says its list holds every update.
      let remaining = docs;
      let allStored;
      const stored = new Promise((resolve) => {
        allStored = resolve;
      });
      persistence.sub.on('message', (_channel, length) => {
        if (Number(length) === updates.length && --remaining === 0) allStored();
      });
      const sample = await timed(persistence.redis, appends, async () => {
        for (let i = 0; i < appends; i += inFlight) {
          for (let j = i; j < Math.min(appends, i + inFlight); j++) {
            Y.applyUpdate(ydocs[j % docs].ydoc, updates[Math.floor(j / docs)]);
          }
          await nextTurn();
        }
        await stored;
      });
      for (const id of ids) {
        const length = await persistence.redis.llen(`${id}:updates`);
        if (length !== updates.length) throw new Error(`${variant}: ${id} holds ${length} updates`);
      }
      checkText(variant, await persistence.redis.lrangeBuffer(`${ids[0]}:updates`, 0, -1), expected);
      return sample;
    } finally {
      await persistence.destroy();
    }
  }
  throw new Error(`unknown variant ${variant}`);
}

/** Times `fn` (which appends `appends` entries): appends/s, and the CPU per append of Redis and of this process. */
async function timed(redis, appends, fn) {
  globalThis.gc?.();
  const callsBefore = await commandCalls(redis);
  const redisBefore = await redisCpuSeconds(redis);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await fn();
  const timeMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpu = (await redisCpuSeconds(redis)) - redisBefore;
  const callsAfter = await commandCalls(redis);
  // Commands Redis ran meanwhile (those run inside scripts count too), e.g. evalsha vs rpush.
  const redisCalls = {};
  for (const [name, calls] of Object.entries(callsAfter)) {
    const delta = calls - (callsBefore[name] ?? 0);
    if (delta > 0 && !name.startsWith('info')) redisCalls[name] = delta;
  }
  return {
    appendsPerSec: appends / (timeMs / 1000),
    redisCpuUs: (redisCpu * 1e6) / appends,
    clientCpuUs: (cpu.user + cpu.system) / appends,
    timeMs,
    redisCalls,
    verified: true,
  };
}

/** Calls per command from `INFO commandstats`. */
async function commandCalls(redis) {
  const info = await redis.info('commandstats');
  return Object.fromEntries(
    [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name, Number(calls)]),
  );
}

/** The CPU time redis-server has used (user + system, seconds) from `INFO cpu`. */
async function redisCpuSeconds(redis) {
  const info = typeof redis === 'function' ? await redis() : await redis.info('cpu');
  const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** y-redis brings its own ioredis (4.x); the harness records the one bench resolves (ours). */
function yRedisIoredisVersion() {
  try {
    const require = createRequire(fileURLToPath(import.meta.resolve('y-redis')));
    return require('ioredis/package.json').version;
  } catch {
    return 'unknown';
  }
}

/** The ceiling: `redis-benchmark -t rpush -P 32 -n <appends>`, with its rate and the CPU it and Redis used. */
async function benchmarkRpush(server, appendCount) {
  // redis-benchmark sometimes prints no rate for a run of a millisecond or less (smoke sizes):
  // the ceiling takes at least CEILING_MIN_REQUESTS (a tenth of a second at ~1M/s).
  const appends = Math.max(appendCount, CEILING_MIN_REQUESTS);
  const args = ['-t', 'rpush', '-P', String(PIPELINE), '-n', String(appends), '-q', '--csv'];
  const result = await redisBenchmark(server, args);
  return {
    appendsPerSec: result.rps,
    redisCpuUs: (result.redisCpu * 1e6) / appends,
    clientCpuUs: (result.benchmarkCpu * 1e6) / appends,
    timeMs: (appends / result.rps) * 1000,
  };
}

/** Runs redis-benchmark against `server`; resolves with its requests/s and the CPU seconds it and Redis used. */
async function redisBenchmark(server, args) {
  const info = () => server.cli('info', 'cpu');
  const redisBefore = await redisCpuSeconds(info);
  const childrenBefore = childrenCpuSeconds();
  const { stdout } = await run(
    process.env.REDIS_BENCHMARK_BIN ?? 'redis-benchmark',
    ['-h', server.host, '-p', String(server.port), ...args],
    { maxBuffer: 1 << 20 },
  );
  const benchmarkCpu = childrenCpuSeconds() - childrenBefore;
  const redisCpu = (await redisCpuSeconds(info)) - redisBefore;
  // --csv: a header line, then "TEST","rps",... per test.
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const rps = Number(JSON.parse(`[${line}]`)[1]);
  if (!(rps > 0)) throw new Error(`redis-benchmark printed no rate: ${stdout}`);
  return { rps, benchmarkCpu, redisCpu };
}

/** CPU seconds of this process's waited-for children (Linux: /proc/self/stat cutime + cstime, 10 ms ticks). */
function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces); cutime is field 16.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * The diagnostic: redis-benchmark calling ystate's append script (EVALSHA, pipelined by 32) with 1
 * and with 16 frames per call, so Redis's cost of the script shows without a Node client. The
 * frames are ASCII of the mean frame size (the script splices bytes, it does not parse them).
 */
async function scriptCeiling(server, appends, updates) {
  const store = createRedisStore({ redis: server.url });
  try {
    const entry = { kind: 'update', time: Date.now(), origin: ORIGIN, flags: 0 };
    const [stored] = await store.log.append('frame-size', [{ ...entry, payload: updates[1] ?? updates[0] }]);
    const meanUpdate = updates.reduce((sum, update) => sum + update.byteLength, 0) / updates.length;
    // Frame = header + payload; the header is what this entry's frame holds beyond its payload.
    const [raw] = await store.redis.lrangeBuffer(documentKeys('ystate:', 'frame-size').log, 0, 0);
    const frameBytes = Math.round(raw.byteLength - stored.payload.byteLength + meanUpdate);
    const script = store.redis.scriptsSet?.ystateAppend;
    if (!script) return { frameBytes, results: 'unavailable (no ioredis script registry)' };
    await store.redis.script('LOAD', script.lua);
    const keys = documentKeys('ystate:', 'bench');
    const frame = 'x'.repeat(frameBytes);
    const results = {};
    for (const perCall of [1, 16]) {
      const calls = Math.max(1, Math.round(appends / perCall));
      const args = ['-P', String(PIPELINE), '-n', String(calls), '-q', '--csv'];
      const command = ['EVALSHA', script.sha, '2', keys.log, keys.base, 'publish', keys.channel];
      const result = await redisBenchmark(server, [...args, ...command, ...Array(perCall).fill(frame)]);
      results[`framesPerCall${perCall}`] = {
        entriesPerSec: Math.round(result.rps * perCall),
        callsPerSec: Math.round(result.rps),
        redisCpuUsPerEntry: round((result.redisCpu * 1e6) / (calls * perCall), 2),
      };
      await server.cli('flushall');
    }
    return { frameBytes, results };
  } finally {
    await store.close();
  }
}

async function expectHead(log, docId, count) {
  const head = await log.head(docId);
  if (head !== count) throw new Error(`${docId} holds ${head} entries, not ${count}`);
}

/** Applies the stored updates of one document to a fresh Y.Doc and compares its text. */
function checkText(variant, payloads, expected) {
  const ydoc = new Y.Doc();
  ydoc.transact(() => {
    for (const payload of payloads) Y.applyUpdate(ydoc, payload);
  });
  const text = ydoc.getMap('state').get('text')?.toString();
  ydoc.destroy();
  if (text !== expected) throw new Error(`${variant}: the stored updates do not rebuild the expected text`);
}

function round(value, digits) {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
