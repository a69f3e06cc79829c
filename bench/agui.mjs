/**
 * agui: the AG-UI bridge (`@ystate/agui`) — (a) STATE_DELTA events produced per second from a
 * stream of small changes, and (b) one document's SSE event stream fanned out to many subscribers
 * — versus an AG-UI state server written the SDK way, without ystate.
 *
 * The state is `{ items: [{ id, title, done, count, note }, …] }`, ~90 bytes of JSON per item, as
 * many items as make `stateBytes` (1 MB at full size). A change replaces one field of one item
 * (`/items/<k>/count` in (a), `/items/<k>/note` in (b)), k spread over the list.
 *
 * (a) Deltas, each sample in a fresh Node process (no I/O: ystate's Engine runs over a
 * `MemoryUpdateLog`, so the bridge's own cost shows, not a disk's). One consumer reads the
 * document's events (`documentEvents`) and applies every delta to its copy of the snapshot.
 * - closed loop, writes: change c is written (`engine.applyPatch`), and c+1 only once the consumer
 *   has the STATE_DELTA carrying c. Each delta is then exactly one change; counted: STATE_DELTA
 *   events the consumer took, per second of the loop, and the process's CPU per delta.
 * - bursts: `burst` changes issued at once (64 distinct fields), the next burst once the consumer
 *   has the last one. Counted: changes per second, and the STATE_DELTA events and operations
 *   the consumer got for them (the engine commits concurrent writes together and the bridge
 *   sends one delta per commit: coalescing shows as fewer deltas than changes).
 * - closed loop, agent: an agent's run as an async iterable — RUN_STARTED, one STATE_DELTA per
 *   change, RUN_FINISHED — through `applyAgentEvents` (validated, applied to the run's fork at
 *   its base, merged with `engine.receive`); the next agent delta once the consumer has the
 *   previous one. Counted like the writes.
 * The peer does the same with the state as plain JSON: a write builds the next snapshot with
 * structural sharing and diffs it with `fast-json-patch`'s `compare` (one delta per change, also
 * in bursts); an agent's event is validated with `@ag-ui/core`'s `EventSchema` and its patch
 * applied in place with `fast-json-patch` (`applyPatch`, validated) and forwarded as the delta.
 * Both hand the consumer event objects through an async iterator; no framing in (a).
 *
 * (b) SSE fan-out, each sample in a fresh Node process (the load generator) against a fresh
 * server process:
 * - ours: the real `ystate serve` (file store, fsync on every append), whose `GET
 *   /api/docs/<docId>/events` is `aguiRoutes`' SSE route, written to with `PATCH
 *   /api/docs/<docId>/state`;
 * - the peer: agui-peer-server.mjs, a plain `node:http` server holding the JSON, `compare` per
 *   change, each event framed once with `@ag-ui/encoder`'s `EventEncoder` and written to all.
 * The state is seeded with PATCHes (untimed), then `subscribers` raw `node:http` clients open the
 * event stream (connected in waves of 50; each is ready once its STATE_SNAPSHOT has arrived), plus
 * one checker that reads the same stream with `@ag-ui/client`'s own HTTP transport
 * (`runHttpRequest` + `transformHttpEventStream`), validates each event with `EventSchema` and
 * applies each delta with `fast-json-patch`, and must end equal to the expected state. Then one
 * writer PATCHes `rate` changes per second: one second of warm-up (not counted; every subscriber
 * must have it before the window), then `seconds` of the measured window. Change n sets a note
 * to `~M<n>~`; each subscriber finds the markers in its `data:` lines (no JSON parsing). Latency
 * = arrival at a subscriber − the PATCH being sent, both `performance.now()` of this process.
 * Verified: every subscriber got every marker once, in a STATE_DELTA, with no resynchronising
 * snapshot. Server CPU (% of one core over the window) and RSS (sampled every 100 ms) from /proc;
 * the generator's CPU and its longest event-loop block over the same window; the connection
 * storm's time and server CPU apart.
 */

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpAgent, runHttpRequest, transformHttpEventStream } from '@ag-ui/client';
import { EventType } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import { applyAgentEvents, documentEvents } from '@ystate/agui';
import { Engine, jsonEqual, MemoryUpdateLog } from '@ystate/core';
import fastJsonPatch from 'fast-json-patch';
import { benchDir, median, percentile, runInChild, runScenario } from './harness.mjs';
import { freePort, processUsage, startServer } from './servers.mjs';

const { applyPatch, compare } = fastJsonPatch;
const HOST = '127.0.0.1';
const DOC = 'agui-bench';
/** Subscribers connecting at once (the rest wait), well under the servers' listen backlog. */
const CONNECT_WAVE = 50;
/** The largest PATCH body used to seed a server (`ystate serve` takes up to 1 MiB). */
const SEED_BODY_BYTES = 256 * 1024;

const variants = [
  { id: 'ystate', label: 'ystate (@ystate/agui)', role: 'ours' },
  { id: 'peer', label: 'AG-UI SDK: compare + encoder', role: 'peer' },
];

// --- the run ---

async function setup(size) {
  const deltaState = makeState(size.deltas.stateBytes);
  const fanoutState = makeState(size.fanout.stateBytes);
  const changes = size.fanout.rate * size.fanout.seconds;
  return {
    params: {
      deltas: {
        ...size.deltas,
        items: deltaState.items.length,
        stateJsonBytes: JSON.stringify(deltaState).length,
        change: 'replace /items/<k>/count with the change number',
        ystate: 'Engine over a MemoryUpdateLog (no I/O), consumer: documentEvents()',
        peer: 'write: structural-sharing update + fast-json-patch compare; agent: EventSchema + applyPatch in place',
        isolation: 'each sample in a fresh Node process',
      },
      fanout: {
        ...size.fanout,
        changes,
        items: fanoutState.items.length,
        stateJsonBytes: JSON.stringify(fanoutState).length,
        change: 'PATCH replace /items/<k>/note with the marker ~M<n>~',
        ystate: 'ystate serve (file store, fsync on every append), GET /api/docs/<docId>/events',
        peer: 'agui-peer-server.mjs: node:http, compare per change, EventEncoder once per event',
        clients: `${size.fanout.subscribers} raw node:http SSE clients + 1 @ag-ui/client checker`,
        warmUp: `${size.fanout.rate} changes (one second) before the window, not counted`,
        isolation: 'a fresh server process per sample, seeded over HTTP',
      },
    },
    setup: { httpAgentCheck: await httpAgentCheck() },
    variants: variants.map((variant) => ({
      ...variant,
      run: async () => {
        const deltas = await runInChild(import.meta.url, {
          part: 'deltas',
          variant: variant.id,
          ...size.deltas,
        });
        const fanout = await runInChild(import.meta.url, {
          part: 'fanout',
          variant: variant.id,
          ...size.fanout,
        });
        return { ...deltas, ...fanout, verified: deltas.verified && fanout.verified };
      },
    })),
  };
}

/**
 * The state: `{ items }` with as many items as make about `bytes` of JSON. Deterministic, so the
 * bench and every child build the same one.
 */
function makeState(bytes) {
  const lorem = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor';
  const items = [];
  for (let size = 12, i = 0; size < bytes; i++) {
    const item = {
      id: `item-${i}`,
      title: `Task ${i}: ${lorem.slice(0, 20 + ((i * 7) % 40))}`,
      done: i % 3 === 0,
      count: 0,
      note: '',
    };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return { items };
}

/** The item change number `c` touches: spread over the list, distinct for `items` consecutive changes. */
const itemOf = (c, items) => (c * 7919) % items;

// --- (a) deltas produced per second, in a child process ---

/** One sample of (a) or (b), in a fresh process. */
function child({ part, ...payload }) {
  return part === 'deltas' ? deltasSample(payload) : fanoutSample(payload);
}

async function deltasSample({ variant, stateBytes, changes, burst, bursts }) {
  const state = makeState(stateBytes);
  const bridge = variant === 'ystate' ? await openYstate(state) : openPeer(state);
  try {
    const sample = await measureDeltas(bridge, state, { changes, burst, bursts });
    return variant === 'peer' ? { ...sample, ...diagnostics(state) } : sample;
  } finally {
    await bridge.close();
  }
}

/** Ours: an Engine over a memory log holding the state, its events through `documentEvents`. */
async function openYstate(state) {
  const engine = new Engine({ log: new MemoryUpdateLog(), idleTimeoutMs: Number.POSITIVE_INFINITY });
  await engine.applyPatch(DOC, [{ op: 'add', path: '/items', value: state.items }]);
  const stop = new AbortController();
  return {
    events: documentEvents(engine, DOC, { signal: stop.signal }),
    change: (path, value) => engine.applyPatch(DOC, [{ op: 'replace', path, value }]),
    // The agent is given the document at the log's head.
    agent: async (events) => applyAgentEvents(engine, DOC, events, { baseSeq: await engine.log.head(DOC) }),
    finalState: () => engine.get(DOC),
    head: () => engine.log.head(DOC),
    /** The update entries the log holds after `from` (to `to`): how many, and their mean payload size. */
    entries: async (from, to) => {
      const updates = (await engine.log.read(DOC, { from: from + 1, to })).filter(
        (entry) => entry.kind === 'update',
      );
      const bytes = updates.reduce((sum, entry) => sum + entry.payload.byteLength, 0);
      return { count: updates.length, meanBytes: updates.length > 0 ? bytes / updates.length : 0 };
    },
    close: async () => {
      stop.abort();
      await engine.close();
    },
  };
}

/**
 * The peer: the state as plain JSON. A write makes the next snapshot with structural sharing and
 * diffs it against the previous one with `compare`; an agent's event is validated with
 * `EventSchema` and its patch applied in place with `applyPatch` and forwarded. Events reach the
 * consumer through an async queue, as ours do.
 */
function openPeer(state) {
  let current = structuredClone(state);
  const queue = new EventQueue();
  queue.push({ type: EventType.STATE_SNAPSHOT, snapshot: structuredClone(current) });
  const emit = (delta) => queue.push({ type: EventType.STATE_DELTA, delta });
  return {
    events: queue,
    change: (path, value) => {
      const next = replaceShared(current, path, value);
      const delta = compare(current, next);
      current = next;
      emit(delta);
      return Promise.resolve();
    },
    agent: async (events) => {
      for await (const event of events) {
        const parsed = EventSchema.safeParse(event);
        if (!parsed.success) throw new Error(`invalid agent event: ${parsed.error.message}`);
        if (parsed.data.type !== EventType.STATE_DELTA) continue;
        current = applyPatch(current, parsed.data.delta, true, true).newDocument;
        emit(parsed.data.delta);
      }
    },
    finalState: async () => current,
    close: async () => queue.end(),
  };
}

/** `doc` with the value at `path` replaced, copying only the containers on the path. */
function replaceShared(doc, path, value) {
  const keys = path.split('/').slice(1);
  const set = (node, depth) => {
    const copy = Array.isArray(node) ? node.slice() : { ...node };
    const key = keys[depth];
    copy[key] = depth === keys.length - 1 ? value : set(node[key], depth + 1);
    return copy;
  };
  return set(doc, 0);
}

/** A minimal async queue of events (an async iterator). */
class EventQueue {
  #items = [];
  #waiting = undefined;
  #ended = false;

  push(event) {
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: event, done: false });
    } else this.#items.push(event);
  }

  end() {
    this.#ended = true;
    this.#waiting?.({ value: undefined, done: true });
  }

  next() {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift(), done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/**
 * The consumer of (a): takes the snapshot, applies every delta to its copy (as an AG-UI client
 * does), counts deltas and operations, and tells when the change numbered `c` has arrived.
 */
class DeltaConsumer {
  state = undefined;
  deltas = 0;
  ops = 0;
  snapshots = 0;
  /** The highest change number seen. */
  seen = 0;
  #waiters = [];
  #ready;

  constructor(events) {
    /** Resolves once the snapshot has arrived. */
    this.ready = new Promise((resolve) => {
      this.#ready = resolve;
    });
    this.done = this.#run(events);
  }

  /** Resolves once the change numbered `c` (or a later one) has arrived. */
  until(c) {
    if (this.seen >= c) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ c, resolve }));
  }

  async #run(events) {
    for await (const event of events) {
      if (event.type === EventType.STATE_SNAPSHOT) {
        this.snapshots++;
        this.state = event.snapshot;
        this.#ready();
        continue;
      }
      if (event.type !== EventType.STATE_DELTA) continue;
      this.deltas++;
      this.ops += event.delta.length;
      applyPatch(this.state, event.delta, false, true);
      for (const op of event.delta)
        if (typeof op.value === 'number') this.seen = Math.max(this.seen, op.value);
      if (this.#waiters.length > 0) {
        const ready = this.#waiters.filter((waiter) => waiter.c <= this.seen);
        this.#waiters = this.#waiters.filter((waiter) => waiter.c > this.seen);
        for (const waiter of ready) waiter.resolve();
      }
    }
  }
}

/** Runs the three loops of (a) on one bridge; checks the consumer's and the source's final state. */
async function measureDeltas(bridge, state, { changes, burst, bursts }) {
  const items = state.items.length;
  if (items <= burst) throw new Error(`the state has ${items} items: too few for bursts of ${burst}`);
  const expected = structuredClone(state);
  const pathOf = (c) => {
    const k = itemOf(c, items);
    expected.items[k].count = c;
    return `/items/${k}/count`;
  };
  const consumer = new DeltaConsumer(bridge.events);
  let c = 0;
  await consumer.ready;
  globalThis.gc?.();

  const seqs = [await bridge.head?.()];
  // Closed loop, writes: one change in flight, the next once its delta has arrived.
  let before = { deltas: consumer.deltas, ops: consumer.ops };
  let cpu = process.cpuUsage();
  let start = performance.now();
  for (let i = 0; i < changes; i++) {
    c++;
    await Promise.all([bridge.change(pathOf(c), c), consumer.until(c)]);
  }
  const writeMs = performance.now() - start;
  const writeCpu = process.cpuUsage(cpu);
  const writeDeltas = consumer.deltas - before.deltas;
  const writeOps = consumer.ops - before.ops;
  seqs.push(await bridge.head?.());

  // Bursts: `burst` changes at once, the next burst once the last change has arrived.
  globalThis.gc?.();
  before = { deltas: consumer.deltas, ops: consumer.ops };
  start = performance.now();
  for (let b = 0; b < bursts; b++) {
    const writes = [];
    for (let j = 0; j < burst; j++) {
      c++;
      writes.push(bridge.change(pathOf(c), c));
    }
    writes.push(consumer.until(c));
    await Promise.all(writes);
  }
  const burstMs = performance.now() - start;
  const burstDeltas = consumer.deltas - before.deltas;
  const burstOps = consumer.ops - before.ops;
  seqs.push(await bridge.head?.());

  // Closed loop, an agent's run: the next STATE_DELTA once the consumer has the previous one.
  globalThis.gc?.();
  before = { deltas: consumer.deltas, ops: consumer.ops };
  const run = { threadId: 'bench-thread', runId: 'bench-run' };
  async function* agentEvents() {
    yield { type: EventType.RUN_STARTED, ...run };
    for (let i = 0; i < changes; i++) {
      c++;
      yield { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: pathOf(c), value: c }] };
      await consumer.until(c);
    }
    yield { type: EventType.RUN_FINISHED, ...run };
  }
  cpu = process.cpuUsage();
  start = performance.now();
  await bridge.agent(agentEvents());
  const agentMs = performance.now() - start;
  const agentCpu = process.cpuUsage(cpu);
  const agentDeltas = consumer.deltas - before.deltas;
  seqs.push(await bridge.head?.());
  // ystate: the log entries each phase wrote (an agent's merges versus the engine's own writes).
  const log = bridge.entries
    ? {
        writeEntries: await bridge.entries(seqs[0], seqs[1]),
        burstEntries: await bridge.entries(seqs[1], seqs[2]),
        agentEntries: await bridge.entries(seqs[2], seqs[3]),
      }
    : {};

  const source = await bridge.finalState();
  const failures = [];
  if (writeDeltas !== changes || writeOps !== changes) {
    failures.push(`writes: ${writeDeltas} deltas, ${writeOps} ops for ${changes} changes`);
  }
  if (agentDeltas !== changes) failures.push(`agent: ${agentDeltas} deltas for ${changes} changes`);
  if (consumer.snapshots !== 1) failures.push(`${consumer.snapshots} snapshots`);
  if (!jsonEqual(consumer.state, expected)) failures.push("the consumer's state is not the expected one");
  if (!jsonEqual(source, expected)) failures.push("the source's state is not the expected one");
  if (failures.length > 0) throw new Error(`agui deltas: ${failures.join('; ')}`);
  const cpuUs = (usage) => usage.user + usage.system;
  return {
    deltasPerSec: writeDeltas / (writeMs / 1000),
    cpuUsPerDelta: cpuUs(writeCpu) / writeDeltas,
    agentDeltasPerSec: agentDeltas / (agentMs / 1000),
    agentCpuUsPerDelta: cpuUs(agentCpu) / agentDeltas,
    burstChangesPerSec: (burst * bursts) / (burstMs / 1000),
    burstDeltas,
    burstOps,
    burstChanges: burst * bursts,
    ...log,
    verified: true,
  };
}

/**
 * What the diff approach costs when the next snapshot shares nothing with the previous one (a
 * state that arrives as JSON, say), and what `@ag-ui/client`'s own way of applying a delta costs
 * (`applyPatch(state, delta, true, false)`: a deep copy of the state per delta). µs each, mean of 20.
 */
function diagnostics(state) {
  const rounds = 20;
  const prev = structuredClone(state);
  let compareMs = 0;
  let applyMs = 0;
  for (let i = 0; i < rounds; i++) {
    const next = structuredClone(prev);
    next.items[itemOf(i + 1, next.items.length)].count = -i - 1;
    let start = performance.now();
    const delta = compare(prev, next);
    compareMs += performance.now() - start;
    start = performance.now();
    applyPatch(prev, delta, true, false);
    applyMs += performance.now() - start;
  }
  return {
    compareUnsharedUs: (compareMs * 1000) / rounds,
    applyPatchCopyUs: (applyMs * 1000) / rounds,
  };
}

// --- (b) SSE fan-out ---

/** One fan-out sample against a fresh server of `variant`, this process being the load generator. */
async function fanoutSample({ variant, stateBytes, subscribers, rate, seconds }) {
  const server = variant === 'ystate' ? await startServer('ystate') : await startPeerServer();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const clients = [];
  let checker;
  try {
    const base = `http://${HOST}:${server.port}/api/docs/${encodeURIComponent(DOC)}`;
    const state = makeState(stateBytes);
    await seed(base, state, agent);
    // Markers 0…warm-1 are the warm-up second, warm…total-1 the measured window.
    const warm = rate;
    const changes = rate * seconds;
    const total = warm + changes;
    const sentAt = new Float64Array(total);
    const latencies = new Float64Array(total * subscribers).fill(Number.NaN);
    const warmed = new Delivery(warm * subscribers);
    const tracker = new Delivery(changes * subscribers);
    const connectStart = performance.now();
    const seeded = server.usage();
    for (let i = 0; i < subscribers; i += CONNECT_WAVE) {
      const wave = [];
      for (let j = i; j < Math.min(subscribers, i + CONNECT_WAVE); j++) {
        const client = new SseSubscriber(`${base}/events`, (n, at) => {
          latencies[n * subscribers + j] = at - sentAt[n];
          (n < warm ? warmed : tracker).delivered();
        });
        clients.push(client);
        wave.push(client.ready);
      }
      await Promise.all(wave);
    }
    checker = new AguiChecker(`${base}/events`);
    await checker.ready;
    const connectMs = performance.now() - connectStart;
    const connected = server.usage();

    // The writer: change n sets a note to `~M<n>~`, paced at `rate` from `startAt`.
    const expected = structuredClone(state);
    const acks = [];
    const ackMs = new Float64Array(total);
    const write = async (from, to) => {
      const startAt = performance.now();
      for (let n = from; n < to; n++) {
        const wait = startAt + ((n - from) * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        const k = itemOf(n + 1, state.items.length);
        const marker = `~M${n}~`;
        expected.items[k].note = marker;
        const body = JSON.stringify([{ op: 'replace', path: `/items/${k}/note`, value: marker }]);
        sentAt[n] = performance.now();
        acks.push(
          send(agent, 'PATCH', `${base}/state`, body).then(() => {
            ackMs[n] = performance.now() - sentAt[n];
          }),
        );
      }
      return performance.now();
    };
    // A second of changes first, until every subscriber has them: the window measures the steady
    // state, not the end of the connection storm (a server may hold each subscriber's snapshot
    // until its next event; see the docs).
    await write(0, warm);
    await Promise.all([warmed.done, checker.until(warm - 1)]);
    // The snapshots' garbage in this process is not the window's business.
    globalThis.gc?.();

    // The window: `changes` at `rate`, until every subscriber (and the checker) has every one.
    const generatorCpu = process.cpuUsage();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    await sleep(5); // the histogram records from its second tick on
    const before = server.usage();
    let rssMax = before.rssMB;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, server.usage().rssMB);
    }, 100);
    const start = performance.now();
    const lastSend = await write(warm, total);
    await Promise.all(acks);
    const timeout = new AbortController();
    const complete = await Promise.race([
      Promise.all([tracker.done, checker.until(total - 1)]).then(() => true),
      sleep(15_000, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    const windowMs = performance.now() - start;
    clearInterval(sampler);
    const after = server.usage();
    rssMax = Math.max(rssMax, after.rssMB);
    const generator = process.cpuUsage(generatorCpu);
    delay.disable();

    // What arrived in the window, and the checks.
    const values = Array.from(latencies.subarray(warm * subscribers)).filter(Number.isFinite);
    const lastArrival = [];
    for (let n = warm; n < total; n++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < subscribers; j++) max = Math.max(max, latencies[n * subscribers + j]);
      if (Number.isFinite(max)) lastArrival.push(max);
    }
    const totals = { deltas: 0, duplicates: 0, resyncs: 0, other: 0 };
    for (const client of clients) {
      totals.deltas += client.deltas;
      totals.duplicates += client.duplicates;
      totals.resyncs += client.resyncs;
      totals.other += client.other;
    }
    const checked = checker.verdict(expected);
    const verified =
      complete &&
      values.length === changes * subscribers &&
      totals.duplicates === 0 &&
      totals.resyncs === 0 &&
      totals.other === 0 &&
      checked.ok;
    if (!verified) {
      console.error(
        `agui fan-out (${variant}): ${values.length} of ${changes * subscribers} deliveries, ${JSON.stringify(totals)}, checker ${JSON.stringify(checked)}`,
      );
    }
    const windowSeconds = windowMs / 1000;
    return {
      fanoutP50Ms: percentile(values, 50),
      fanoutP99Ms: percentile(values, 99),
      fanoutMaxMs: values.reduce((max, value) => Math.max(max, value), 0),
      fanoutLastP50Ms: median(lastArrival),
      writeAckP50Ms: median(Array.from(ackMs.subarray(warm))),
      serverCpuPct: (100 * (after.cpuSeconds - before.cpuSeconds)) / windowSeconds,
      serverRssMB: rssMax,
      serverRssConnectedMB: connected.rssMB,
      serverPeakRssMB: after.peakRssMB,
      connectSeconds: connectMs / 1000,
      serverConnectCpuSeconds: connected.cpuSeconds - seeded.cpuSeconds,
      sendRate: changes > 1 ? (changes - 1) / ((lastSend - start) / 1000) : changes,
      windowSeconds,
      deliveries: values.length,
      expectedDeliveries: changes * subscribers,
      /** STATE_DELTA events all subscribers got, warm-up included (fewer than changes: coalesced). */
      deltaEvents: totals.deltas,
      duplicates: totals.duplicates,
      resyncs: totals.resyncs,
      checker: checked,
      generatorCpuPct: (100 * (generator.user + generator.system)) / 1e6 / windowSeconds,
      generatorMaxBlockMs: delay.count > 0 ? delay.max / 1e6 : 0,
      verified,
    };
  } finally {
    checker?.close();
    for (const client of clients) client.close();
    agent.destroy();
    await server.close();
  }
}

/** Counts deliveries; `done` resolves once `expected` have arrived. */
class Delivery {
  #left;
  #resolve;

  constructor(expected) {
    this.#left = expected;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (expected === 0) this.#resolve();
  }

  delivered() {
    if (--this.#left === 0) this.#resolve();
  }
}

const SNAPSHOT_PREFIX = 'data: {"type":"STATE_SNAPSHOT"';
/** The first bytes kept to check the first event: room for an `id: <seq>` line before the prefix. */
const HEAD_BYTES = SNAPSHOT_PREFIX.length + 24;

/**
 * A raw SSE subscriber on `node:http`: splits the stream at blank lines, takes the first event
 * as the snapshot (checking its start, skipping the rest as bytes: a thousand 1 MB strings would
 * make the generator's garbage collector part of the measurement), and finds the `~M<n>~` markers
 * in each STATE_DELTA's `data:` line without parsing its JSON. `onMarker(n, arrivalMs)` for each
 * marker the first time it arrives.
 */
class SseSubscriber {
  deltas = 0;
  duplicates = 0;
  /** Snapshots after the first: the server resynchronised this subscriber. */
  resyncs = 0;
  other = 0;
  #buffer = '';
  #scanned = 0;
  #snapshot = false;
  /** The first bytes of the first event, and whether the last chunk before its end ended with \n. */
  #head = '';
  #newline = false;
  #seen = new Set();
  #ready;
  #firstDelta;

  constructor(url, onMarker) {
    this.onMarker = onMarker;
    /** Resolves with the first STATE_DELTA. */
    this.firstDelta = new Promise((resolve) => {
      this.#firstDelta = resolve;
    });
    this.ready = new Promise((resolve, reject) => {
      this.#ready = { resolve, reject };
      this.req = request(url, { agent: false, headers: { accept: 'text/event-stream' } });
      // After `close` the request errors (the socket was destroyed): nothing to report then.
      this.req.on('error', reject);
      this.req.once('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url}: ${res.statusCode}`));
          res.resume();
          return;
        }
        res.on('data', (chunk) => this.#take(chunk, performance.now()));
        res.on('error', () => undefined);
      });
      this.req.end();
    });
  }

  close() {
    this.req.destroy();
  }

  #take(chunk, at) {
    if (!this.#snapshot) {
      if (this.#head.length < HEAD_BYTES) {
        this.#head += chunk.toString('latin1', 0, HEAD_BYTES - this.#head.length);
      }
      // JSON never holds a raw "\n\n": the first blank line ends the snapshot.
      const joined = this.#newline && chunk[0] === 0x0a;
      const end = joined ? -1 : chunk.indexOf('\n\n');
      if (!joined && end === -1) {
        this.#newline = chunk[chunk.length - 1] === 0x0a;
        return;
      }
      this.#snapshot = true;
      // ystate sends each state event after its `id: <seq>` line.
      const head = this.#head.startsWith('id: ')
        ? this.#head.slice(this.#head.indexOf('\n') + 1)
        : this.#head;
      if (head.startsWith(SNAPSHOT_PREFIX)) this.#ready.resolve();
      else this.#ready.reject(new Error(`the stream did not start with a STATE_SNAPSHOT: ${this.#head}`));
      chunk = chunk.subarray(joined ? 1 : end + 2);
    }
    // Markers are ASCII: latin1 decoding is enough to find them.
    this.#buffer += chunk.toString('latin1');
    for (;;) {
      const end = this.#buffer.indexOf('\n\n', this.#scanned);
      if (end === -1) {
        this.#scanned = Math.max(0, this.#buffer.length - 1);
        return;
      }
      const event = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      this.#scanned = 0;
      this.#event(event, at);
    }
  }

  #event(frame, at) {
    if (frame.startsWith(':')) return; // a keep-alive comment
    // State events come after their `id: <seq>` line (the resume point); the markers are in `data:`.
    const event = frame.startsWith('id: ') ? frame.slice(frame.indexOf('\n') + 1) : frame;
    if (event.startsWith('data: {"type":"STATE_DELTA"')) {
      if (this.deltas++ === 0) this.#firstDelta();
      for (const [, n] of event.matchAll(/~M(\d+)~/g)) {
        if (this.#seen.has(n)) this.duplicates++;
        else {
          this.#seen.add(n);
          this.onMarker(Number(n), at);
        }
      }
    } else if (event.startsWith(SNAPSHOT_PREFIX)) this.resyncs++;
    else this.other++;
  }
}

/**
 * One subscriber that reads the stream the way an AG-UI app does, with `@ag-ui/client`'s HTTP
 * transport (`runHttpRequest` + `transformHttpEventStream`, its SSE parser), validates each event
 * with `@ag-ui/core`'s `EventSchema`, and applies each delta with `fast-json-patch` (validated;
 * in place, where `@ag-ui/client` copies the state first).
 */
class AguiChecker {
  events = 0;
  invalid = [];
  failedPatches = [];
  state = undefined;
  seen = -1;
  #stop = new AbortController();
  #waiters = [];

  constructor(url) {
    this.ready = new Promise((resolve, reject) => {
      const http$ = runHttpRequest(() =>
        fetch(url, { headers: { accept: 'text/event-stream' }, signal: this.#stop.signal }),
      );
      this.subscription = transformHttpEventStream(http$).subscribe({
        next: (event) => {
          this.events++;
          const parsed = EventSchema.safeParse(event);
          if (!parsed.success) {
            this.invalid.push(`${event?.type}: ${parsed.error.issues[0]?.message}`);
            return;
          }
          if (parsed.data.type === EventType.STATE_SNAPSHOT) {
            this.state = parsed.data.snapshot;
            resolve();
          } else if (parsed.data.type === EventType.STATE_DELTA) {
            try {
              applyPatch(this.state, parsed.data.delta, true, true);
            } catch (error) {
              this.failedPatches.push(String(error));
            }
            for (const op of parsed.data.delta) {
              const marker = typeof op.value === 'string' ? /^~M(\d+)~$/.exec(op.value) : null;
              if (marker) this.seen = Math.max(this.seen, Number(marker[1]));
            }
            for (const waiter of this.#waiters) if (waiter.n <= this.seen) waiter.resolve();
            this.#waiters = this.#waiters.filter((waiter) => waiter.n > this.seen);
          }
        },
        error: (error) => {
          if (!this.#stop.signal.aborted) reject(error);
        },
      });
    });
  }

  /** Resolves once the marker `n` (or a later one) has arrived. */
  until(n) {
    if (this.seen >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Whether the stream was valid AG-UI and the deltas gave `expected`. */
  verdict(expected) {
    const equal = this.state !== undefined && jsonEqual(this.state, expected);
    return {
      ok: equal && this.invalid.length === 0 && this.failedPatches.length === 0,
      events: this.events,
      invalid: this.invalid.slice(0, 3),
      failedPatches: this.failedPatches.slice(0, 3),
      stateEqual: equal,
    };
  }

  close() {
    this.#stop.abort();
    this.subscription?.unsubscribe();
  }
}

/** Seeds a server's document with `state` over PATCH requests of at most SEED_BODY_BYTES each. */
async function seed(base, state, agent) {
  let batch = [];
  let bytes = 0;
  let first = true;
  const flush = async () => {
    const patch = first ? [{ op: 'add', path: '/items', value: batch }] : batch;
    await send(agent, 'PATCH', `${base}/state`, JSON.stringify(patch));
    first = false;
    batch = [];
    bytes = 0;
  };
  for (const item of state.items) {
    const size = JSON.stringify(item).length;
    if (bytes + size > SEED_BODY_BYTES && batch.length > 0) await flush();
    batch.push(first ? item : { op: 'add', path: '/items/-', value: item });
    bytes += size + 40;
  }
  if (batch.length > 0 || first) await flush();
}

/** Sends one request; resolves with the response body (rejects on a status other than 2xx). */
function send(agent, method, url, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      agent,
      headers: {
        'content-type': 'application/json-patch+json',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.once('end', () => {
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(text);
        else reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
      });
    });
    req.end(body);
  });
}

/** The peer server (agui-peer-server.mjs) in its own process, shaped like servers.mjs's ServerProcess. */
async function startPeerServer() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(benchDir, 'agui-peer-server.mjs'), JSON.stringify({ port })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('agui-peer listening')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`agui-peer-server exited with ${signal ?? code}`)));
  });
  return {
    port,
    pid: child.pid,
    usage: () => processUsage(child.pid),
    close: async () => {
      process.off('exit', kill);
      kill();
      await exited;
    },
  };
}

/**
 * Once per run: a real `@ag-ui/client` `HttpAgent` runs against `ystate serve`'s `POST
 * /api/docs/<docId>/agui` while three PATCHes change the document; its state when the run ends
 * (idle) must equal the document's.
 */
async function httpAgentCheck() {
  const server = await startServer('ystate');
  const agent = new Agent({ keepAlive: true });
  try {
    const base = `http://${HOST}:${server.port}/api/docs/${encodeURIComponent(DOC)}`;
    const state = makeState(20_000);
    await seed(base, state, agent);
    const client = new HttpAgent({ url: `${base}/agui` });
    const types = [];
    const snapshot = new Promise((resolve) => {
      const { unsubscribe } = client.subscribe({
        onStateChanged: () => {
          unsubscribe();
          resolve();
        },
      });
    });
    const running = client.runAgent(
      { forwardedProps: { ystate: { idleMs: 300 } } },
      { onEvent: ({ event }) => void types.push(event.type) },
    );
    await snapshot;
    for (let n = 0; n < 3; n++) {
      const body = JSON.stringify([{ op: 'replace', path: `/items/${n}/note`, value: `~A${n}~` }]);
      await send(agent, 'PATCH', `${base}/state`, body);
    }
    await running;
    const document = JSON.parse(await get(`${base}/state`));
    const ok =
      jsonEqual(client.state, document) &&
      types[0] === EventType.RUN_STARTED &&
      types.at(-1) === EventType.RUN_FINISHED &&
      types.includes(EventType.STATE_DELTA);
    if (!ok) throw new Error(`the HttpAgent check failed: events ${types.join(', ')}`);
    return { ok, events: types.length, types: [...new Set(types)] };
  } finally {
    agent.destroy();
    await server.close();
  }
}

function get(url) {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.once('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${url}: ${text}`))));
    })
      .once('error', reject)
      .end();
  });
}

// Last: the classes above are not initialised before their declarations run.
await runScenario({
  name: 'agui',
  title: 'AG-UI: STATE_DELTAs produced per second, and SSE fan-out of one document',
  versions: [
    '@ystate/core',
    '@ystate/agui',
    '@ystate/server',
    '@ag-ui/core',
    '@ag-ui/encoder',
    '@ag-ui/client',
    'fast-json-patch',
    'yjs',
  ],
  sizes: {
    smoke: {
      rounds: 1,
      deltas: { stateBytes: 100_000, changes: 200, burst: 32, bursts: 4 },
      fanout: { stateBytes: 100_000, subscribers: 50, rate: 20, seconds: 1 },
    },
    full: {
      rounds: 3,
      deltas: { stateBytes: 1_000_000, changes: 2_000, burst: 64, bursts: 32 },
      fanout: { stateBytes: 1_000_000, subscribers: 1_000, rate: 20, seconds: 10 },
    },
  },
  metrics: [
    { key: 'deltasPerSec', label: 'writes → deltas/s', unit: '/s', primary: true, lowerIsBetter: false },
    { key: 'cpuUsPerDelta', label: 'CPU per delta (writes)', unit: 'µs' },
    { key: 'agentDeltasPerSec', label: 'agent deltas → deltas/s', unit: '/s', lowerIsBetter: false },
    { key: 'burstChangesPerSec', label: 'changes/s in bursts', unit: '/s', lowerIsBetter: false },
    { key: 'fanoutP50Ms', label: 'fan-out latency p50', unit: 'ms' },
    { key: 'fanoutP99Ms', label: 'fan-out latency p99', unit: 'ms' },
    { key: 'serverCpuPct', label: 'server CPU (fan-out)', unit: '% core' },
    { key: 'serverRssMB', label: 'server RSS (fan-out)', unit: 'MB' },
  ],
  setup,
  child,
});
