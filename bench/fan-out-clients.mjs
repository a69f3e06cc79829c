/**
 * What the many-client scenarios share (fan-out.mjs, fan-out-many.mjs, idle-connections.mjs):
 * opening thousands of `SyncClient`s in batches, an account of every delivery (its latency, and
 * whether each reader got each update exactly once), and the load generator's own cost next to
 * the server's, so that a result can say whether the generator was the bottleneck.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { benchDir, runInChild } from './harness.mjs';
import { freePort, processUsage, serverKinds, startServer } from './servers.mjs';
import { MarkerWriter, SyncClient } from './sync-client.mjs';

/**
 * Opens a client per spec (`{ docId, doc?, onMarker?, server? }`) against `server` (`{ url,
 * dialect }`, or the spec's own `server`, for clients spread over several nodes),
 * `batch` at a time: the next batch starts once every client of this one has synced, so neither
 * the server's accept backlog nor the generator's pending handshakes pile up. Resolves with the
 * clients in spec order; rejects (after terminating every client it opened) when one fails.
 */
export async function openClients(server, specs, { batch = 500 } = {}) {
  const clients = [];
  try {
    for (let i = 0; i < specs.length; i += batch) {
      const wave = specs.slice(i, i + batch).map((spec) => {
        const client = new SyncClient(spec.server ?? server, spec.docId, { doc: spec.doc });
        if (spec.onMarker) client.onMarker = spec.onMarker;
        return client;
      });
      clients.push(...wave);
      await Promise.all(wave.map((client) => client.synced));
    }
    return clients;
  } catch (error) {
    await closeClients(clients);
    throw error;
  }
}

/** Drops every client's socket (no close handshake) and resolves once all have closed. */
export async function closeClients(clients) {
  await Promise.all(clients.map((client) => client.terminate()));
}

/**
 * The account of a fan-out: when each marker was sent, and which receivers got it. `markers`
 * updates will be sent, each to be received once by `receivers` receivers. A receiver is a slot
 * 0..slots−1 (default `receivers`): a reader of fan-out, or a client's place in its document in
 * fan-out-many, where a writer's own slot stays empty (10 slots, 9 receivers). The book is flat
 * typed arrays, so that keeping it costs the generator's GC almost nothing. `done`
 * resolves once every delivery arrived. Latencies are kept only for markers sent as `measured`
 * (not for a warm-up).
 */
export class Deliveries {
  /** Deliveries so far (first arrivals of a marker at a receiver). */
  delivered = 0;
  /** A marker a receiver had already received. */
  duplicates = 0;
  /** Own updates a server sent back to their writer (the peers do; ystate at times, see fan-out.md). */
  echoes = 0;
  /** Markers no one sent (a bug in the bench if ever non-zero). */
  unknown = 0;
  /** Arrival of the last delivery (`performance.now()`). */
  lastArrival = 0;
  #index = new Map();
  #sentAt;
  #measured;
  #received;
  #last;
  #seen;
  #slots;
  #latencies;
  #measuredCount = 0;
  #expected;
  #resolveDone;

  constructor({ markers, receivers, slots = receivers }) {
    this.#slots = slots;
    this.#expected = markers * receivers;
    this.#sentAt = new Float64Array(markers);
    this.#measured = new Uint8Array(markers);
    this.#received = new Uint32Array(markers);
    this.#last = new Float64Array(markers);
    this.#seen = new Uint8Array(markers * slots);
    this.#latencies = new Float64Array(markers * receivers);
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    if (this.#expected === 0) this.#resolveDone();
  }

  /** Records that `marker` was sent at `at`. */
  sent(marker, at, measured) {
    const i = this.#index.size;
    if (i === this.#sentAt.length) throw new Error(`more than ${i} markers sent`);
    this.#index.set(marker, i);
    this.#sentAt[i] = at;
    this.#measured[i] = measured ? 1 : 0;
  }

  /**
   * The `onMarker` of receiver `slot`. Markers of `self` (a writer's own, sent back to it) are
   * counted apart and otherwise ignored.
   */
  receiver(slot, self) {
    const own = self === undefined ? undefined : `${self}.`;
    return (marker, at) => {
      if (own !== undefined && marker.startsWith(own)) {
        this.echoes++;
        return;
      }
      const i = this.#index.get(marker);
      if (i === undefined) {
        this.unknown++;
        return;
      }
      const seen = i * this.#slots + slot;
      if (this.#seen[seen] === 1) {
        this.duplicates++;
        return;
      }
      this.#seen[seen] = 1;
      this.#received[i]++;
      if (at > this.#last[i]) this.#last[i] = at;
      if (this.#measured[i] === 1) this.#latencies[this.#measuredCount++] = at - this.#sentAt[i];
      if (at > this.lastArrival) this.lastArrival = at;
      if (++this.delivered === this.#expected) this.#resolveDone();
    };
  }

  /** Resolves `true` once every delivery arrived, `false` after `timeoutMs` without. */
  async settled(timeoutMs) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /**
   * The numbers of a sample: latency percentiles over measured deliveries (nearest rank, as
   * harness.mjs), the time until the last receiver of a measured update had it (median and
   * highest), and the account (`verified` only when every expected delivery arrived, once).
   */
  summary() {
    const latencies = this.#latencies.slice(0, this.#measuredCount).sort();
    const complete = [];
    for (let i = 0; i < this.#index.size; i++) {
      if (this.#measured[i] === 1 && this.#received[i] > 0) complete.push(this.#last[i] - this.#sentAt[i]);
    }
    // The slowest delivery of the updates sent in each second of the measured window: a few
    // bad seconds (a stall) or a steady tail.
    const worstBySecondMs = [];
    let first = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#index.size; i++)
      if (this.#measured[i] === 1) first = Math.min(first, this.#sentAt[i]);
    for (let i = 0; i < this.#index.size; i++) {
      if (this.#measured[i] !== 1 || this.#received[i] === 0) continue;
      const second = Math.floor((this.#sentAt[i] - first) / 1000);
      worstBySecondMs[second] = Math.max(
        worstBySecondMs[second] ?? 0,
        round(this.#last[i] - this.#sentAt[i], 1),
      );
    }
    complete.sort((a, b) => a - b);
    const missing = this.#expected - this.delivered;
    return {
      p50Ms: nearestRank(latencies, 50),
      p99Ms: nearestRank(latencies, 99),
      p999Ms: nearestRank(latencies, 99.9),
      maxMs: latencies.length > 0 ? latencies[latencies.length - 1] : Number.NaN,
      lastReceiverP50Ms: nearestRank(complete, 50),
      lastReceiverMaxMs: complete.length > 0 ? complete[complete.length - 1] : Number.NaN,
      worstBySecondMs: Array.from(worstBySecondMs, (ms) => ms ?? 0),
      measuredDeliveries: latencies.length,
      expectedDeliveries: this.#expected,
      delivered: this.delivered,
      missing,
      duplicates: this.duplicates,
      echoes: this.echoes,
      unknown: this.unknown,
      verified: missing === 0 && this.duplicates === 0 && this.unknown === 0,
    };
  }
}

/** The `p`th percentile of sorted `values` by nearest rank (`percentile` of harness.mjs, pre-sorted). */
function nearestRank(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Starts measuring what the generator (this process) and the server process `pid` spend: CPU
 * of each (as % of one core over the wall time), and this process's event-loop utilisation and
 * longest event-loop block (`monitorEventLoopDelay`, 1 ms resolution) and its garbage-collection
 * pauses (to tell its own pauses from being descheduled by other processes). A blocked generator
 * stamps arrivals late, which inflates the latencies it reports. `stop()` returns the numbers.
 * With several server processes (`pid` an array: the nodes of a multi-node run) the server's CPU
 * is their sum, and `serverCpuPctEach` has each; `others` (`{ redis: [pid, …] }`) adds
 * `<name>CpuPct` (the sum) and `<name>CpuPctEach` for other processes, such as Redis servers.
 */
export function startMeters(pid, others = {}) {
  const pids = [pid].flat();
  const cpuOf = (list) => list.map((each) => processUsage(each).cpuSeconds);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // Garbage-collection pauses, to tell the generator's own pauses from being descheduled.
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const serverBefore = cpuOf(pids);
  const othersBefore = Object.fromEntries(Object.entries(others).map(([name, list]) => [name, cpuOf(list)]));
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const start = performance.now();
  return {
    start,
    stop(end = performance.now()) {
      const wallSeconds = (end - start) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const elu = performance.eventLoopUtilization(eluBefore);
      delay.disable();
      observer.disconnect();
      const pctEach = (list, before) =>
        cpuOf(list).map((seconds, i) => round((100 * (seconds - before[i])) / wallSeconds, 1));
      const sum = (values) => values.reduce((total, value) => total + value, 0);
      const serverEach = cpuOf(pids).map((seconds, i) => seconds - serverBefore[i]);
      const serverCpuSeconds = sum(serverEach);
      const generatorCpuSeconds = (cpu.user + cpu.system) / 1e6;
      const extra = {};
      if (pids.length > 1) extra.serverCpuPctEach = pctEach(pids, serverBefore);
      for (const [name, list] of Object.entries(others)) {
        const each = pctEach(list, othersBefore[name]);
        extra[`${name}CpuPct`] = round(sum(each), 1);
        extra[`${name}CpuPctEach`] = each;
      }
      return {
        ...extra,
        wallSeconds,
        serverCpuSeconds,
        serverCpuPct: (100 * serverCpuSeconds) / wallSeconds,
        generatorCpuSeconds,
        generatorCpuPct: (100 * generatorCpuSeconds) / wallSeconds,
        generatorElu: elu.utilization,
        generatorMaxBlockMs: delay.count > 0 ? delay.max / 1e6 : 0,
        generatorBlockP99Ms: delay.count > 0 ? delay.percentile(99) / 1e6 : 0,
        generatorGc: { count: gc.count, totalMs: round(gc.totalMs, 1), maxMs: round(gc.maxMs, 1) },
      };
    },
  };
}

/** The histograms a ystate server's `/metrics` reports that explain a fan-out's latency. */
const YSTATE_HISTOGRAMS = {
  append: 'ystate_log_append_seconds',
  receiveToBroadcast: 'ystate_update_latency_seconds',
};

/**
 * Reads a ystate server's Prometheus `/metrics` (its HTTP port is the WebSocket one): the
 * cumulative buckets of the log-append and receive-to-broadcast histograms, and the longest
 * event-loop delay since the previous scrape (reading it resets that monitor).
 */
export async function scrapeYstate(wsUrl) {
  const response = await fetch(`${wsUrl.replace(/^ws/, 'http')}/metrics`);
  const text = await response.text();
  const histograms = {};
  for (const [key, name] of Object.entries(YSTATE_HISTOGRAMS)) {
    const buckets = [];
    for (const [, le, count] of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`, 'gm'))) {
      buckets.push({ le: Number(le), count: Number(count) });
    }
    const sum = Number(text.match(new RegExp(`^${name}_sum (\\S+)`, 'm'))?.[1] ?? Number.NaN);
    const count = Number(text.match(new RegExp(`^${name}_count (\\S+)`, 'm'))?.[1] ?? Number.NaN);
    histograms[key] = { buckets, sum, count };
  }
  const loopMax = text.match(/^ystate_event_loop_delay_seconds\{quantile="1"\} (\S+)/m)?.[1];
  return { histograms, eventLoopMaxMs: Number(loopMax) * 1000 };
}

/**
 * What a ystate server reported between two scrapes: per histogram, how many, the mean (ms) and
 * how many took longer than 10, 25, 50 and 100 ms (bucket bounds); the server's longest
 * event-loop delay over the interval.
 */
export function ystateReport(before, after) {
  const report = { serverEventLoopMaxMs: round(after.eventLoopMaxMs, 1) };
  for (const key of Object.keys(YSTATE_HISTOGRAMS)) {
    const a = before.histograms[key];
    const b = after.histograms[key];
    const count = b.count - a.count;
    const upTo = (le) => {
      const at = (h) => h.buckets.find((bucket) => bucket.le === le)?.count ?? Number.NaN;
      return at(b) - at(a);
    };
    report[key] = {
      count,
      meanMs: round(count > 0 ? ((b.sum - a.sum) / count) * 1000 : Number.NaN),
      over10ms: count - upTo(0.01),
      over25ms: count - upTo(0.025),
      over50ms: count - upTo(0.05),
      over100ms: count - upTo(0.1),
    };
  }
  return report;
}

/** The metrics of the two fan-out scenarios (latency first, then what the server and the generator spent). */
export function fanOutMetrics(targetMs) {
  return [
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', primary: true, target: targetMs },
    { key: 'maxMs', label: 'max latency', unit: 'ms' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '% core' },
    { key: 'generatorCpuPct', label: 'generator CPU', unit: '% core' },
    { key: 'generatorMaxBlockMs', label: 'generator longest block', unit: 'ms' },
  ];
}

/**
 * One fan-out sample: starts the variant's server (`serverOptions`: `redis`, `args`), runs the
 * generator in a fresh process (`scriptUrl`'s child mode, given the server and `payload`), adds the
 * server's peak RSS, and records in `unverified` a sample whose deliveries do not add up. The server
 * is stopped gracefully first, so that one run with --cpu-prof writes its profile.
 */
export async function runFanOutSample(variant, scriptUrl, payload, unverified, serverOptions = {}) {
  const server = await startVariantServer(variant, { nodeArgs: nodeArgsOf(variant), ...serverOptions });
  try {
    const sample = await runInChild(scriptUrl, {
      url: server.url,
      dialect: server.dialect,
      pid: server.pid,
      ystateMetrics: variant.kind === 'ystate',
      ...payload,
    });
    sample.serverPeakRssMB = round(server.usage().peakRssMB, 1);
    if (!sample.verified) unverified.push(`${variant.label}: ${JSON.stringify(accountOf(sample))}`);
    return sample;
  } finally {
    await server.stop();
    await server.close();
  }
}

/**
 * Ends a fan-out sample in the generator: waits for the last deliveries, stops the meters, reads
 * ystate's own histograms over the window, and returns the account with the costs per delivery.
 */
export async function finishFanOutSample({
  deliveries,
  meters,
  scraped,
  url,
  ystateMetrics,
  lastSend,
  drainTimeoutMs,
}) {
  const complete = await deliveries.settled(drainTimeoutMs);
  const cost = meters.stop(complete ? deliveries.lastArrival : performance.now());
  // Several nodes (`url` and `scraped` arrays): one report per node.
  const report = async (at, before) => ystateReport(before, await scrapeYstate(at));
  const ystate = !ystateMetrics
    ? undefined
    : Array.isArray(url)
      ? await Promise.all(url.map((at, i) => report(at, scraped[i])))
      : await report(url, scraped);
  const summary = deliveries.summary();
  return {
    ...summary,
    ...cost,
    deliveriesPerSec: summary.measuredDeliveries / cost.wallSeconds,
    serverCpuUsPerDelivery: (cost.serverCpuSeconds * 1e6) / summary.measuredDeliveries,
    generatorCpuUsPerDelivery: (cost.generatorCpuSeconds * 1e6) / summary.measuredDeliveries,
    sendSpreadMs: lastSend - meters.start,
    generatorRssMB: process.memoryUsage.rss() / 2 ** 20,
    ...(ystate ? { ystate } : {}),
  };
}

/**
 * The fan-out-many load, in the generator process: `documents` × `clientsPerDocument` raw clients,
 * each writing one marker update per second (the updates of a second spread evenly over it, one
 * every 1000 / clients ms, documents interleaved, so a document's writers send 1000 /
 * clientsPerDocument ms apart), each update to the other clients of its document. A warm-up of
 * `warmupSeconds` first (not measured), then `seconds` measured; then the account of every
 * delivery with the meters' costs (`finishFanOutSample`). `servers` are the nodes: client `slot`
 * of every document connects to `servers[slot % servers.length]`, so with several nodes most
 * deliveries cross from one node to another. `pids` are the nodes' processes (CPU), `others` more
 * processes to meter (see `startMeters`).
 */
export async function runManyWriters({
  servers,
  pids,
  others,
  ystateMetrics,
  documents,
  clientsPerDocument,
  seconds,
  warmupSeconds,
  padding,
  batch,
  drainTimeoutMs,
}) {
  const count = documents * clientsPerDocument;
  const warmup = count * warmupSeconds;
  const total = warmup + count * seconds;
  const deliveries = new Deliveries({
    markers: total,
    receivers: clientsPerDocument - 1,
    slots: clientsPerDocument,
  });
  // Client i is client (i div documents) of document (i mod documents): consecutive sends go to
  // different documents, and the 10 clients of a document send 100 ms apart.
  const writers = Array.from({ length: count }, (_, i) => {
    const slot = Math.floor(i / documents);
    const id = `d${i % documents}-c${slot}`;
    return {
      id,
      slot,
      docId: `doc-${i % documents}`,
      server: servers[slot % servers.length],
      markers: new MarkerWriter(id, { padding }),
    };
  });
  const urls = servers.map((server) => server.url);
  const scrape = () =>
    servers.length === 1 ? scrapeYstate(urls[0]) : Promise.all(urls.map((url) => scrapeYstate(url)));
  let clients = [];
  try {
    const connectStart = performance.now();
    const specs = writers.map((w) => ({
      docId: w.docId,
      server: w.server,
      onMarker: deliveries.receiver(w.slot, w.id),
    }));
    clients = await openClients(servers[0], specs, { batch });
    const connectMs = performance.now() - connectStart;

    const interval = 1000 / count;
    let meters;
    let scraped;
    let lastSend = 0;
    let lateSends = 0;
    let start = performance.now() + 10;
    for (let i = 0; i < total; ) {
      if (i === warmup && meters === undefined) {
        if (ystateMetrics) {
          // The schedule pauses while the metrics are read, then goes on from where it stopped:
          // the sends that fell due meanwhile would otherwise reach the server as one burst.
          const paused = performance.now();
          scraped = await scrape();
          start += performance.now() - paused;
        }
        meters = startMeters(pids, others);
      }
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      // Send every update that is due (a timer wakes at 1 ms granularity, or late), up to the
      // end of the warm-up while the meters have not started.
      const now = performance.now();
      const end = meters === undefined ? warmup : total;
      for (; i < end && start + i * interval <= now; i++) {
        if (now - (start + i * interval) > 5) lateSends++;
        const writer = writers[i % count];
        const { marker, update } = writer.markers.next();
        lastSend = performance.now();
        deliveries.sent(marker, lastSend, i >= warmup);
        clients[i % count].sendUpdate(update);
      }
    }
    const sample = await finishFanOutSample({
      deliveries,
      meters,
      scraped,
      url: servers.length === 1 ? urls[0] : urls,
      ystateMetrics,
      lastSend,
      drainTimeoutMs,
    });
    // lateSends: sends more than 5 ms behind their schedule (the generator was busy).
    return { ...sample, lateSends, connectMs };
  } finally {
    await closeClients(clients);
  }
}

/** What a sample's delivery account says, for the message of a run whose deliveries do not add up. */
export function accountOf(sample) {
  const { expectedDeliveries, delivered, missing, duplicates, unknown } = sample;
  return { expectedDeliveries, delivered, missing, duplicates, unknown };
}

/** The variant of a peer server of servers.mjs, labelled as it labels the kind. */
export const peerVariant = (kind) => ({ id: kind, kind, label: serverKinds[kind].label, role: 'peer' });

/**
 * The variants of the WebSocket scenarios: ours, the two current peers (in the order of the
 * ratios: the y-websocket reference server, Hocuspocus 4), and the floor: a bare `ws` relay with
 * no CRDT work (fan-out-relay-server.mjs).
 */
export const serverVariants = [
  { id: 'ystate', kind: 'ystate', label: 'ystate serve (file store)', role: 'ours' },
  peerVariant('y-websocket-server'),
  peerVariant('hocuspocus-4'),
  { id: 'relay', kind: 'relay', label: 'bare ws relay (floor)', role: 'floor' },
];

/**
 * Starts the server of a variant: servers.mjs's `startServer` for ystate and the peers, or the
 * bare relay (the same interface: `url`, `dialect`, `pid`, `usage()`, `stop()`, `close()`).
 */
export function startVariantServer(variant, options = {}) {
  return variant.kind === 'relay' ? startRelayServer(options) : startServer(variant.kind, options);
}

/** The bare relay (fan-out-relay-server.mjs) as a process of its own; resolves once it listens. */
async function startRelayServer({ nodeArgs = [] } = {}) {
  const port = await freePort();
  const script = join(benchDir, 'fan-out-relay-server.mjs');
  const child = spawn(process.execPath, [...nodeArgs, script, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('relay listening')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the relay exited with ${signal ?? code} before listening:\n${stderr}`)),
    );
  });
  child.stdout.resume();
  const stopWith = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    process.off('exit', killOnExit);
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    dialect: 'y-websocket',
    pid: child.pid,
    usage: () => processUsage(child.pid),
    stop: () => stopWith('SIGTERM'),
    close: () => stopWith('SIGKILL'),
  };
}

/**
 * Node options for the server of a variant: with `YSTATE_BENCH_PROFILE_DIR` set, ystate runs
 * with `--cpu-prof` into that directory (one .cpuprofile per sample); `YSTATE_BENCH_NODE_ARGS`
 * adds options of its own to ystate's (space-separated, e.g. `--trace-gc`).
 */
export function nodeArgsOf(variant) {
  if (variant.role !== 'ours') return [];
  const dir = process.env.YSTATE_BENCH_PROFILE_DIR;
  const extra = process.env.YSTATE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/**
 * Node options that open a server process's inspector on a free loopback port, so that
 * `collectGarbage(port)` can run a full garbage collection in it. Resolves with both.
 */
export async function inspectorOptions() {
  const port = await freePort();
  return { port, nodeArgs: [`--inspect=127.0.0.1:${port}`] };
}

/**
 * Runs a full garbage collection in the process whose inspector listens on `port` (the DevTools
 * protocol's `HeapProfiler.collectGarbage`, as the "collect garbage" button of Chrome's DevTools)
 * and resolves once it is done. Its RSS then holds what is live, not what the last burst of
 * allocations left for a later collection.
 */
export async function collectGarbage(port) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
  try {
    await once(ws, 'open');
    const answered = new Promise((resolve, reject) => {
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.id !== 1) return;
        if (message.error) reject(new Error(`collectGarbage: ${message.error.message}`));
        else resolve();
      });
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    await answered;
  } finally {
    ws.close();
  }
}

/** Rounds for the results JSON. */
export function round(value, digits = 2) {
  return Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value;
}
