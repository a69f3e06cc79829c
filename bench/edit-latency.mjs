/**
 * edit-latency: the time from an edit on one node to its arrival in a Y.Doc on another node,
 * through Redis, under light load (issue 7, scenario 1: p50 < 2 ms, p99 < 5 ms), versus
 * Hocuspocus with its Redis extension.
 *
 * Setup (not timed): a `redis-server` of the scenario's own on a free port (no persistence), and
 * on it two server processes of each kind: two `ystate serve --redis URL` nodes, two Hocuspocus 4
 * nodes (on Node 22) with `@hocuspocus/extension-redis` 4, and, as an older row, two Hocuspocus 3
 * nodes with its Redis extension (Hocuspocus 4 rewrote it). The y-websocket reference server keeps
 * its documents in the process's memory and has no way to share them between processes, so it
 * cannot be run as two nodes and is not a variant here.
 *
 * Each sample runs in a fresh Node process with the real client libraries: y-websocket's
 * `WebsocketProvider` (ws as its WebSocket, no BroadcastChannel) against ystate, and
 * `HocuspocusProvider` of the server's major version (ws as its WebSocket) against Hocuspocus. Three clients of one new
 * document: the writer on node A, a reader on node B (across nodes: the measured path) and a
 * reader on node A (same node: without the hop between nodes, to tell it apart). Once all
 * three are synced, the writer types one character at the end of a Y.Text every `intervalMs`
 * (a keystroke: one Yjs update each), `warmup` edits first (not counted), then `edits` measured
 * ones. Latency = the reader's Y.Doc `update` event − the writer's `performance.now()` just
 * before the edit (one process, one clock). Edit n makes the text n + 1 characters long, so the
 * text length after an update says which edits it brought. Every sample checks that both readers
 * end with the writer's exact text.
 *
 * Also recorded: the servers' CPU (both nodes, from /proc) during the measured edits, the Redis
 * commands per edit (`INFO commandstats`), ystate's own latency metrics (arrival → broadcast and
 * Redis append on node A, bus lag on node B), and what the load generator cost (its CPU as a
 * share of a core, its longest event-loop block).
 */

import { execFile } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startRedisServer } from '@ystate/redis/testing';
import { p50, p99, runInChild, runScenario } from './harness.mjs';
import { NODE_22 } from './node-22.mjs';
import { connectProvider } from './providers.mjs';
import { processUsage, redisVersion, startServer } from './servers.mjs';

const run = promisify(execFile);

/** How long the readers may take to receive the last edit before the sample fails. */
const ARRIVAL_TIMEOUT_MS = 15_000;
/** How long the three clients may take to connect and sync. */
const SYNC_TIMEOUT_MS = 15_000;
/** What the writer types, one character per edit. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ';

/** Hocuspocus 3 stays as an older row: Hocuspocus 4 rewrote its Redis extension. */
const variants = [
  { id: 'ystate', kind: 'ystate', label: 'ystate --redis, 2 nodes', role: 'ours' },
  {
    id: 'hocuspocus-4',
    kind: 'hocuspocus-4',
    label: 'Hocuspocus 4 + Redis, 2 nodes (Node 22)',
    role: 'peer',
  },
  { id: 'hocuspocus-3', kind: 'hocuspocus-3', label: 'Hocuspocus 3 + Redis, 2 nodes (older)', role: 'peer' },
];

await runScenario({
  name: 'edit-latency',
  title: 'Edit → reader latency across two nodes through Redis, light load',
  versions: [
    '@ystate/core',
    '@ystate/server',
    '@ystate/redis',
    'ioredis',
    '@hocuspocus/server-4',
    '@hocuspocus/extension-redis-4',
    '@hocuspocus/provider-4',
    '@hocuspocus/server',
    '@hocuspocus/extension-redis',
    '@hocuspocus/provider',
    'y-websocket',
    NODE_22,
    'yjs',
  ],
  sizes: {
    smoke: { edits: 60, warmup: 10, intervalMs: 20, rounds: 2 },
    full: { edits: 500, warmup: 50, intervalMs: 25, rounds: 5 },
  },
  metrics: [
    { key: 'p50Ms', label: 'p50 across nodes', unit: 'ms', primary: true, target: 2 },
    { key: 'p99Ms', label: 'p99 across nodes', unit: 'ms', target: 5 },
    { key: 'maxMs', label: 'max across nodes', unit: 'ms' },
    { key: 'sameNodeP50Ms', label: 'p50 same node', unit: 'ms' },
    { key: 'sameNodeP99Ms', label: 'p99 same node', unit: 'ms' },
    { key: 'serverCpuPct', label: 'server CPU, both nodes', unit: '% of a core' },
  ],
  setup,
  child,
});

/** Starts Redis and two nodes of each kind on it; returns the variants. */
async function setup(size) {
  const redis = await startRedisServer();
  const nodes = {};
  const cleanup = async () => {
    for (const pair of Object.values(nodes)) for (const node of pair) await node.close();
    await redis.stop();
  };
  try {
    for (const variant of variants) {
      nodes[variant.id] = [];
      for (let i = 0; i < 2; i++)
        nodes[variant.id].push(await startServer(variant.kind, { redis: redis.url }));
    }
    const version = await redisVersion(redis);
    return {
      params: {
        edits: size.edits,
        warmupEdits: size.warmup,
        intervalMs: size.intervalMs,
        editsPerSecond: 1000 / size.intervalMs,
        edit: 'one character typed at the end of a Y.Text (one Yjs update)',
        clients:
          'a writer on node A, a reader on node B (across nodes) and a reader on node A (same node), one new document per sample',
        clientLibraries:
          "ystate: y-websocket's WebsocketProvider (ws, disableBc); Hocuspocus: HocuspocusProvider of its major (ws); all on the machine's Node",
        latency: "reader's Y.Doc update event − writer's performance.now() before the edit (same process)",
        redis: `${version}, no persistence (save '', appendonly no), shared by both kinds`,
        ystate: '`ystate serve --redis URL` (store and bus on Redis), default options',
        hocuspocus:
          'Hocuspocus 4 (on Node 22) and Hocuspocus 3 (older), each with @hocuspocus/extension-redis of its major, documents in memory',
        notMeasured:
          'the y-websocket reference server keeps documents in process memory and cannot share them between nodes',
        isolation: 'each sample in a fresh Node process; the servers stay up for the whole run',
      },
      variants: variants.map((variant) => ({
        id: variant.id,
        label: variant.label,
        role: variant.role,
        run: ({ round }) =>
          runInChild(import.meta.url, {
            kind: variant.kind,
            urls: nodes[variant.id].map((node) => node.url),
            pids: nodes[variant.id].map((node) => node.pid),
            redisPort: redis.port,
            docId: `edit-latency-${variant.id}-${round}`,
            edits: size.edits,
            warmup: size.warmup,
            intervalMs: size.intervalMs,
          }),
      })),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One sample, in a fresh process: three real clients, `warmup + edits` paced edits, latencies. */
async function child({ kind, urls, pids, redisPort, docId, edits, warmup, intervalMs }) {
  const total = warmup + edits;
  const writer = connectProvider(kind, urls[0], docId);
  const acrossNodes = connectProvider(kind, urls[1], docId);
  const sameNode = connectProvider(kind, urls[0], docId);
  const clients = [writer, acrossNodes, sameNode];
  try {
    await within(
      Promise.all(clients.map((client) => client.synced)),
      SYNC_TIMEOUT_MS,
      'the clients did not sync',
    );
    const sentAt = new Array(total);
    const across = track(acrossNodes, sentAt, total);
    const same = track(sameNode, sentAt, total);
    const text = writer.doc.getText('text');
    const type = (n) => {
      sentAt[n] = performance.now();
      text.insert(n, ALPHABET[n % ALPHABET.length]);
    };

    // Warm-up: the same paced edits, not counted (JIT, first Redis round trips, room setup).
    await pace(0, warmup, intervalMs, type);
    await within(Promise.all([across.arrived(warmup), same.arrived(warmup)]), ARRIVAL_TIMEOUT_MS, 'warm-up');

    const metricsBefore = kind === 'ystate' ? await Promise.all(urls.map(scrapeMetrics)) : undefined;
    const callsBefore = await redisCalls(redisPort);
    const serversBefore = pids.map((pid) => processUsage(pid).cpuSeconds);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    // Let the delay timer tick once, so a block right at the start is recorded.
    await sleep(5);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    await pace(warmup, total, intervalMs, type);
    await within(
      Promise.all([across.arrived(total), same.arrived(total)]),
      ARRIVAL_TIMEOUT_MS,
      'the readers did not receive every edit',
    );
    const wallMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const serversCpu = pids.reduce((sum, pid, i) => sum + processUsage(pid).cpuSeconds - serversBefore[i], 0);
    const callsAfter = await redisCalls(redisPort);
    await sleep(5);
    delay.disable();
    const breakdown = metricsBefore
      ? ystateBreakdown(metricsBefore, await Promise.all(urls.map(scrapeMetrics)))
      : {};

    const expected = text.toString();
    for (const [name, client] of [
      ['across nodes', acrossNodes],
      ['same node', sameNode],
    ]) {
      if (client.doc.getText('text').toString() !== expected) {
        throw new Error(`the reader ${name} does not hold the writer's text`);
      }
    }
    const acrossMs = across.latencies.slice(warmup);
    const sameMs = same.latencies.slice(warmup);
    return {
      p50Ms: p50(acrossMs),
      p99Ms: p99(acrossMs),
      maxMs: Math.max(...acrossMs),
      sameNodeP50Ms: p50(sameMs),
      sameNodeP99Ms: p99(sameMs),
      sameNodeMaxMs: Math.max(...sameMs),
      serverCpuPct: (100 * serversCpu) / (wallMs / 1000),
      edits: acrossMs.length,
      textLength: expected.length,
      generatorCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / wallMs,
      generatorMaxBlockMs: delay.count > 0 ? delay.max / 1e6 : 0,
      measuredSeconds: wallMs / 1000,
      ...breakdown,
      redisCallsPerEdit: perEdit(callsBefore, callsAfter, edits),
      verified: true,
    };
  } finally {
    for (const client of clients) client.destroy();
  }
}

/** Calls per command from the Redis's `INFO commandstats` (through redis-cli). */
async function redisCalls(port) {
  const { stdout } = await run(process.env.REDIS_CLI_BIN ?? 'redis-cli', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    'info',
    'commandstats',
  ]);
  return Object.fromEntries(
    [...stdout.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name, Number(calls)]),
  );
}

/** The commands Redis ran per measured edit (those run inside scripts count too; under 0.01 left out). */
function perEdit(before, after, edits) {
  const calls = {};
  for (const [name, count] of Object.entries(after)) {
    const rate = Math.round((100 * (count - (before[name] ?? 0))) / edits) / 100;
    if (rate > 0 && name !== 'info') calls[name] = rate;
  }
  return calls;
}

/** The sums and counts of a ystate node's latency histograms (`GET /metrics`, Prometheus text). */
async function scrapeMetrics(wsUrl) {
  const response = await fetch(`${wsUrl.replace(/^ws/, 'http')}/metrics`);
  const text = await response.text();
  const histograms = {};
  for (const name of [
    'ystate_update_latency_seconds',
    'ystate_log_append_seconds',
    'ystate_bus_lag_seconds',
  ]) {
    const value = (suffix) =>
      Number(text.match(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1] ?? 0);
    histograms[name] = { sum: value('sum'), count: value('count') };
  }
  return histograms;
}

/**
 * Where ystate's time goes, from its own metrics over the measured edits (means): on node A, from
 * an update arriving to its broadcast (gate, Redis append, apply) and the Redis append alone; on
 * node B, from the entry's time (ms resolution, set on node A) to its arrival through the bus.
 */
function ystateBreakdown(before, after) {
  const mean = (node, name) => {
    const count = after[node][name].count - before[node][name].count;
    return count > 0 ? (1000 * (after[node][name].sum - before[node][name].sum)) / count : Number.NaN;
  };
  return {
    ystateUpdates:
      after[0].ystate_update_latency_seconds.count - before[0].ystate_update_latency_seconds.count,
    ystateArrivalToBroadcastMeanMs: mean(0, 'ystate_update_latency_seconds'),
    ystateAppendMeanMs: mean(0, 'ystate_log_append_seconds'),
    ystateBusLagMeanMs: mean(1, 'ystate_bus_lag_seconds'),
  };
}

/**
 * Records when each edit reaches `client`'s Y.Doc: `latencies[n]` for edit n (edit n makes the
 * text n + 1 long), and `arrived(count)`, which resolves once the first `count` edits are there.
 */
function track(client, sentAt, total) {
  const text = client.doc.getText('text');
  const latencies = new Array(total);
  let seen = text.length;
  const waiting = [];
  client.doc.on('update', () => {
    const at = performance.now();
    const length = text.length;
    for (let n = seen; n < length; n++) latencies[n] = at - sentAt[n];
    seen = Math.max(seen, length);
    for (const wait of waiting.filter((w) => seen >= w.count)) {
      waiting.splice(waiting.indexOf(wait), 1);
      wait.resolve();
    }
  });
  return {
    latencies,
    arrived: (count) =>
      seen >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve })),
  };
}

/** Calls `edit(n)` for n in [from, to), one every `intervalMs` on a fixed schedule (no drift). */
async function pace(from, to, intervalMs, edit) {
  const start = performance.now();
  for (let n = from; n < to; n++) {
    const due = start + (n - from) * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    edit(n);
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
