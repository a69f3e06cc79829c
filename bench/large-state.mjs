/**
 * large-state: one document holding a large JSON state (100 MB at full size) — how long it takes
 * to load and how much memory it holds, how fast one field update reaches another client through a
 * server, and how long its AG-UI STATE_DELTA takes to produce (at three state sizes, to show
 * whether that time depends on the size of the state).
 *
 * The state (built in setup, not timed, through the path API of a StateDocument): `/meta` (a few
 * fields) and `/records`, an object of records keyed `r0000000`, `r0000001`, … added 1,000 per
 * transaction. Each record is ~0.9 KB of JSON: `id`, `title` (6 words), `status`, `owner`,
 * `priority`, `estimate`, `tags` (an array of 2–3 words), `createdAt`, `updatedAt` and `body`
 * (~110 words), all plain JSON values (no collaborative text). Records are added until the JSON
 * reaches the size asked for. Every Yjs update of the build is captured; for each size:
 * - a file store (`@ystate/file`) holding what an engine with default options would have written:
 *   one entry per transaction, and the checkpoint its policy (every 1,000 entries or 4 MiB) leaves
 *   as the latest, so a load reads that checkpoint plus the entries after it;
 * - the whole state as one `Y.encodeStateAsUpdate` blob.
 * After the largest state, the same StateDocument makes the field updates the latency part sends
 * (precomputed, so the load generator holds no 100 MB Y.Doc of its own): each sets
 * `/records/<random record>/status` to a marker string `~Mw.<n>~`, a valid update of the big
 * document as any client holding it would send.
 *
 * Each round runs both variants; each variant's sample has all the metrics, from three fresh
 * processes:
 * - load (largest size): ystate opens a copy of the file store cold (`openFileLog`, `new Engine`,
 *   `engine.open()`); the peer, the floor, reads the blob file and applies it to a fresh Y.Doc.
 *   Timed with `measure()` (longest event-loop block too); then the RSS of the process with the
 *   state loaded (after a gc). Every loaded state is checked against the built one (its state
 *   vector, its record count and 20 records compared whole).
 * - STATE_DELTA (every size; the largest in the load process, the others in a second one):
 *   ystate: a `documentEvents` stream (@ystate/agui, what `/events` and `/agui` serve) on the
 *   engine, then `engine.write` of one field; the time from the update being durable (an
 *   `onDurableUpdate` listener registered before the stream's) to the STATE_DELTA in hand from the
 *   stream — the feed's mirror applies the update, the patch is built, batched for the turn,
 *   coalesced, rebased and queued. The peer: what an AG-UI app without a CRDT does — diff its
 *   previous JSON snapshot against the new one with fast-json-patch `compare` (two separate
 *   objects, as snapshots of an agent's state are); `compare` on a structurally shared copy (an
 *   immutable update: only the changed path is new) is recorded beside it. Every delta is checked
 *   to be exactly the one field's `replace`.
 * - latency (largest size): a server process holding the document, a writer and a reader client
 *   (raw protocol clients in this process, sync-client.mjs, both claiming to hold the
 *   state already, so connecting moves only what they lack). ystate: the real `ystate serve` on a
 *   copy of the file store (fsync always, its default), loading the document on the first
 *   connection. The peer: the y-websocket reference server (`@y/websocket-server`), in memory,
 *   given the state by the writer as the same updates the store holds. Then the precomputed field updates are sent
 *   open-loop at a fixed rate, after a warm-up; latency = reader's arrival − writer's send. The
 *   engine spaces checkpoints by the last one's size (`checkpointEvery.sizeFraction`, 0.1): with
 *   a 100 MB checkpoint, 1,200 small updates store none (before that rule they stored one after
 *   1,000 entries, which stalled the server for seconds; `latencyP99BeforeCheckpointMs` is the
 *   p99 of the updates before that point, kept to compare with the runs of that time).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { documentEvents } from '@ystate/agui';
import { Engine, StateDocument } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import fastJsonPatch from 'fast-json-patch';
import * as Y from 'yjs';
import {
  frameUpdates,
  measure,
  median,
  p50,
  p99,
  runInChild,
  runScenario,
  unframeUpdates,
} from './harness.mjs';
import { ServerProcess } from './servers.mjs';
import { SyncClient } from './sync-client.mjs';

const { compare } = fastJsonPatch;

const DOC_ID = 'large';
/** Records per transaction while building the state (one log entry each). */
const RECORDS_PER_WRITE = 1000;
/** The store's checkpoint, as the engine's entry and byte thresholds (1,000 / 4 MiB) place it while the state is built. */
const CHECKPOINT_ENTRIES = 1000;
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
const ORIGIN = 'builder';
/** Untimed writes before the timed ones in each STATE_DELTA measurement. */
const DELTA_WARMUP = 10;
/** How many records the checks of a loaded state compare with the built ones. */
const CHECKED_RECORDS = 20;
/** How long the latency part waits for the last update beyond its sending window. */
const ARRIVAL_GRACE_MS = 120_000;

/** The words of titles, bodies and tags, and the statuses records cycle through. */
const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ' +
  'ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur'
).split(' ');
const STATUSES = ['open', 'in-progress', 'review', 'done'];

const sizes = {
  smoke: {
    rounds: 1,
    stateMB: 1,
    deltaSizesMB: [0.1, 0.3, 1],
    deltaWrites: 30,
    peerDeltaDiffs: 10,
    warmupUpdates: 10,
    updates: 100,
    updatesPerSec: 200,
  },
  full: {
    rounds: 3,
    stateMB: 100,
    deltaSizesMB: [1, 10, 100],
    deltaWrites: 200,
    peerDeltaDiffs: 10,
    warmupUpdates: 50,
    updates: 1200,
    updatesPerSec: 100,
  },
};

const args = parseArgs({ options: { size: { type: 'string' }, child: { type: 'string' } }, strict: false });
// Metric labels name the state sizes of the size being run.
const sizeName = args.values.size ?? 'full';
/**
 * A 100 MB state is ~600 MB of Y.Doc; a process holding it, a stream's second copy and JSON
 * snapshots comes near Node's default heap limit (4 GiB here). Sample processes and servers
 * (which inherit the environment) get a higher one, so that GC never works at the edge of it.
 */
const HEAP_OPTION = '--max-old-space-size=8192';
if (args.values.child === undefined && !process.env.NODE_OPTIONS?.includes('--max-old-space-size')) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${HEAP_OPTION}`.trim();
}
const deltaLabels = (sizes[sizeName] ?? sizes.full).deltaSizesMB;

const variants = [
  { id: 'ystate', label: 'ystate', role: 'ours' },
  { id: 'peer', label: 'Yjs, y-websocket, fast-json-patch', role: 'peer' },
];

await runScenario({
  name: 'large-state',
  title: 'A large JSON state: load, memory, one field update to another client, its STATE_DELTA',
  versions: ['@ystate/core', '@ystate/file', '@ystate/agui', 'yjs', '@y/websocket-server', 'fast-json-patch'],
  sizes,
  metrics: [
    { key: 'loadMs', label: 'time to loaded', unit: 'ms', primary: true },
    { key: 'loadBlockMs', label: 'longest block while loading', unit: 'ms' },
    { key: 'rssMB', label: 'RSS with the state loaded', unit: 'MB' },
    { key: 'latencyP50Ms', label: 'field update to another client, p50', unit: 'ms' },
    { key: 'latencyP99Ms', label: 'field update to another client, p99', unit: 'ms', target: 10 },
    ...deltaLabels.map((mb, i) => ({
      key: `delta${i}Ms`,
      label: `STATE_DELTA of one field, ${mb} MB state`,
      unit: 'ms',
      target: 1,
    })),
  ],
  setup,
  child,
});

// --- the state ---

/** A seeded pseudo-random generator (mulberry32): the same state on every run. */
function randomFrom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function keyOf(i) {
  return `r${String(i).padStart(7, '0')}`;
}

function recordOf(i, random) {
  const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
  const created = 1_700_000_000_000 + i * 61_000;
  return {
    id: keyOf(i),
    title: words(6),
    status: STATUSES[i % STATUSES.length],
    owner: `user-${Math.floor(random() * 500)}`,
    priority: Math.floor(random() * 5),
    estimate: Math.round(random() * 1000) / 10,
    tags: Array.from(
      { length: 2 + Math.floor(random() * 2) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    ),
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(created + Math.floor(random() * 1e9)).toISOString(),
    body: words(100 + Math.floor(random() * 20)),
  };
}

/**
 * Builds a state of about `bytes` bytes of JSON in a StateDocument, one transaction per 1,000
 * records, capturing every update. Returns the document (still open), the updates, the record count.
 */
function buildState(bytes, seed) {
  const random = randomFrom(seed);
  const doc = new StateDocument(DOC_ID);
  const updates = [];
  const capture = (update) => updates.push(update);
  doc.ydoc.on('update', capture);
  doc.set('/meta', {
    name: 'large-state bench',
    schema: 1,
    createdAt: new Date(1_700_000_000_000).toISOString(),
  });
  doc.set('/records', {});
  let json = JSON.stringify(doc.toJSON()).length;
  let records = 0;
  while (json < bytes) {
    doc.batch((tx) => {
      for (let n = 0; n < RECORDS_PER_WRITE && json < bytes; n++, records++) {
        const record = recordOf(records, random);
        // `"r0000000":{…},`
        json += JSON.stringify(record).length + keyOf(records).length + 4;
        tx.set(`/records/${keyOf(records)}`, record);
      }
    });
  }
  doc.ydoc.off('update', capture);
  return { doc, updates, records };
}

/**
 * What a loaded state is checked against (cheaply: a full JSON comparison of 100 MB costs seconds
 * per sample): the state vector (every struct the build made is there — the state has no
 * deletions), the number of records, and some records compared whole.
 */
function expectationOf(doc, records) {
  const random = randomFrom(3);
  const samples = {};
  for (let n = 0; n < CHECKED_RECORDS; n++) {
    const key = keyOf(Math.floor(random() * records));
    samples[key] = doc.get(`/records/${key}`);
  }
  return {
    jsonBytes: JSON.stringify(doc.toJSON()).length,
    stateVector: Buffer.from(Y.encodeStateVector(doc.ydoc)).toString('base64'),
    samples,
  };
}

/**
 * Writes a file store with one entry per update (appended one at a time, as an engine's
 * sequential writes are) and the checkpoint the engine's default policy leaves as its latest.
 * Returns where that checkpoint is.
 */
async function writeStore(dir, updates, blob) {
  const log = await openFileLog({ dir, fsync: 'never' });
  try {
    let entries = 0;
    let bytes = 0;
    let checkpointSeq = 0;
    for (const update of updates) {
      const [stored] = await log.append(DOC_ID, [
        { kind: 'update', time: Date.now(), origin: ORIGIN, flags: 0, payload: update },
      ]);
      entries++;
      bytes += update.byteLength;
      if (entries >= CHECKPOINT_ENTRIES || bytes >= CHECKPOINT_BYTES) {
        checkpointSeq = stored.seq;
        entries = 0;
        bytes = 0;
      }
    }
    if (checkpointSeq > 0) {
      let payload = blob;
      if (checkpointSeq < updates.length) {
        const ydoc = new Y.Doc();
        ydoc.transact(() => {
          for (const update of updates.slice(0, checkpointSeq)) Y.applyUpdate(ydoc, update);
        });
        payload = Y.encodeStateAsUpdate(ydoc);
        ydoc.destroy();
      }
      await log.storeCheckpoint(DOC_ID, {
        kind: 'checkpoint',
        seq: checkpointSeq,
        time: Date.now(),
        origin: ORIGIN,
        flags: 0,
        payload,
      });
    }
    return { entries: updates.length, checkpointSeq, tailEntries: updates.length - checkpointSeq };
  } finally {
    await log.close();
  }
}

/**
 * The field updates the latency part sends, made on the built document after its state: one that
 * sets `/meta/ready` (the setup marker), the warm-up ones, then the measured ones.
 */
function fieldUpdates(doc, records, count, random) {
  const updates = [];
  const capture = (update) => updates.push(update);
  doc.ydoc.on('update', capture);
  doc.set('/meta/ready', '~Msetup.0~');
  for (let n = 0; n < count.warmup; n++) {
    doc.set(`/records/${keyOf(Math.floor(random() * records))}/status`, `~Mwarm.${n}~`);
  }
  for (let n = 0; n < count.measured; n++) {
    doc.set(`/records/${keyOf(Math.floor(random() * records))}/status`, `~Mw.${n}~`);
  }
  doc.ydoc.off('update', capture);
  return updates;
}

// --- setup ---

async function setup(size) {
  const largest = size.deltaSizesMB.length - 1;
  if (size.deltaSizesMB[largest] !== size.stateMB)
    throw new Error('the last delta size must be the state size');
  const dir = await mkdtemp(join(tmpdir(), 'ystate-bench-large-state-'));
  try {
    const states = [];
    for (const [index, mb] of size.deltaSizesMB.entries()) {
      let started = performance.now();
      const { doc, updates, records } = buildState(mb * 1e6, 1000 + index);
      const buildMs = performance.now() - started;
      const expected = expectationOf(doc, records);
      const blob = Y.encodeStateAsUpdate(doc.ydoc);
      writeFileSync(join(dir, `state-${index}.bin`), blob);
      started = performance.now();
      const store = await writeStore(join(dir, `store-${index}`), updates, blob);
      const storeMs = performance.now() - started;
      const state = {
        mb,
        records,
        ...expected,
        blobBytes: blob.byteLength,
        updates: updates.length,
        ...store,
        storeBytes: await directorySize(join(dir, `store-${index}`)),
        buildMs: Math.round(buildMs),
        storeWriteMs: Math.round(storeMs),
      };
      writeFileSync(join(dir, `expected-${index}.json`), JSON.stringify(state));
      if (index === largest) {
        // What the y-websocket server is given (the updates the store holds), and the field updates.
        writeFileSync(join(dir, 'setup-updates.bin'), frameUpdates(updates));
        const field = fieldUpdates(
          doc,
          records,
          { warmup: size.warmupUpdates, measured: size.updates },
          randomFrom(7),
        );
        writeFileSync(join(dir, 'field-updates.bin'), frameUpdates(field));
        const sizes = field.slice(1).map((update) => update.byteLength);
        state.fieldUpdateBytes = { min: Math.min(...sizes), max: Math.max(...sizes) };
      }
      doc.destroy();
      states.push(state);
    }
    globalThis.gc?.();
    const payload = { dir, size, largest };
    return {
      params: {
        stateMB: size.stateMB,
        deltaSizesMB: size.deltaSizesMB,
        shape:
          '{ meta: {…}, records: { r0000000: { id, title, status, owner, priority, estimate, tags[2-3], createdAt, updatedAt, body (~110 words) }, … } }, ~0.9 KB of JSON per record, 1,000 records per transaction',
        states: states.map(({ buildMs, storeWriteMs, stateVector, samples, ...state }) => state),
        load: 'ystate: openFileLog + new Engine + engine.open (latest checkpoint + tail); peer: read the blob file + Y.applyUpdate into a fresh Y.Doc (the floor)',
        delta: `ystate: engine.write of one field → STATE_DELTA from documentEvents (@ystate/agui), timed from durable to the event, ${DELTA_WARMUP} warm-up + ${size.deltaWrites} writes per sample (median); peer: fast-json-patch compare of two separate snapshots, 1 warm-up + ${size.peerDeltaDiffs} diffs per sample (median)`,
        latency: `${size.warmupUpdates} warm-up + ${size.updates} field updates at ${size.updatesPerSec}/s open-loop, writer → server → reader; ystate serve on a copy of the file store (fsync always); the y-websocket reference server (@y/websocket-server) in memory`,
        isolation: `each part of each sample in a fresh Node process (--expose-gc, gc before timing); servers in their own processes; all with ${HEAP_OPTION}`,
      },
      setup: {
        buildMs: states.map((state) => state.buildMs),
        storeWriteMs: states.map((state) => state.storeWriteMs),
      },
      variants: variants.map((variant) => ({
        ...variant,
        run: async () => {
          const loaded = await runInChild(import.meta.url, { ...payload, task: 'load', variant: variant.id });
          const smaller = await runInChild(import.meta.url, {
            ...payload,
            task: 'delta',
            variant: variant.id,
          });
          const latency = await runInChild(import.meta.url, {
            ...payload,
            task: 'latency',
            variant: variant.id,
          });
          const deltas = [...smaller.deltas, loaded.delta];
          const sample = { ...loaded.load, ...latency };
          deltas.forEach((delta, i) => {
            sample[`delta${i}Ms`] = delta.medianMs;
          });
          sample.deltas = deltas;
          sample.verified = loaded.verified && smaller.verified && latency.verified;
          return sample;
        },
      })),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

// --- the children ---

async function child(payload) {
  if (payload.task === 'load') return loadChild(payload);
  if (payload.task === 'delta') return deltaChild(payload);
  if (payload.task === 'latency') return latencyChild(payload);
  throw new Error(`unknown task ${payload.task}`);
}

function expectedOf(dir, index) {
  return JSON.parse(readFileSync(join(dir, `expected-${index}.json`), 'utf8'));
}

/** Checks a loaded Y.Doc against what setup built (see `expectationOf`). */
function checkState(variant, ydoc, expected) {
  const fail = (what) => {
    throw new Error(`${variant}: the loaded state differs from the built one: ${what}`);
  };
  if (Buffer.from(Y.encodeStateVector(ydoc)).toString('base64') !== expected.stateVector)
    fail('state vector');
  const records = ydoc.getMap('state').get('records');
  if (records?.size !== expected.records) fail(`${records?.size} records`);
  for (const [key, record] of Object.entries(expected.samples)) {
    if (canonical(records.get(key)?.toJSON()) !== canonical(record)) fail(`record ${key}`);
  }
}

/** JSON with object keys sorted, to compare values whatever order their keys were set in. */
function canonical(value) {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** Loads the largest state cold, reads the RSS, then measures its STATE_DELTA. */
async function loadChild({ dir, size, largest, variant }) {
  const expected = expectedOf(dir, largest);
  if (variant === 'ystate') {
    const store = await copyStore(dir, largest);
    try {
      const result = await measure(async () => {
        const log = await openFileLog({ dir: store });
        const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
        return { log, engine, doc: await engine.open(DOC_ID) };
      });
      const { log, engine, doc } = result.value;
      const memory = memoryNow();
      checkState(variant, doc.ydoc, expected);
      const delta = await ystateDeltas(engine, expected, size.deltaWrites);
      await engine.close();
      await log.close();
      return { load: loadSample(result, memory), delta, verified: true };
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  }
  const result = await measure(() => {
    const ydoc = new Y.Doc();
    Y.applyUpdate(ydoc, readFileSync(join(dir, `state-${largest}.bin`)));
    return ydoc;
  });
  const memory = memoryNow();
  checkState(variant, result.value, expected);
  const delta = peerDeltas(result.value, expected, size.peerDeltaDiffs);
  return { load: loadSample(result, memory), delta, verified: true };
}

/** The STATE_DELTA at the smaller sizes, one after the other in this process. */
async function deltaChild({ dir, size, largest, variant }) {
  const deltas = [];
  for (let index = 0; index < largest; index++) {
    const expected = expectedOf(dir, index);
    if (variant === 'ystate') {
      const store = await copyStore(dir, index);
      try {
        const log = await openFileLog({ dir: store });
        const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
        checkState(variant, (await engine.open(DOC_ID)).ydoc, expected);
        deltas.push(await ystateDeltas(engine, expected, size.deltaWrites));
        await engine.close();
        await log.close();
      } finally {
        await rm(store, { recursive: true, force: true });
      }
    } else {
      const ydoc = new Y.Doc();
      Y.applyUpdate(ydoc, readFileSync(join(dir, `state-${index}.bin`)));
      checkState(variant, ydoc, expected);
      deltas.push(peerDeltas(ydoc, expected, size.peerDeltaDiffs));
    }
    globalThis.gc?.();
  }
  return { deltas, verified: true };
}

function loadSample(result, memory) {
  return {
    loadMs: result.timeMs,
    loadBlockMs: result.maxBlockMs,
    rssMB: memory.rssMB,
    heapUsedMB: memory.heapUsedMB,
  };
}

function memoryNow() {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rssMB: usage.rss / 2 ** 20, heapUsedMB: usage.heapUsed / 2 ** 20 };
}

/**
 * ystate: a `documentEvents` stream, then `engine.write` of one field at a time; each write's
 * STATE_DELTA is timed from the moment the update is durable (a listener registered before the
 * stream's feed) to the event in hand.
 */
async function ystateDeltas(engine, expected, writes) {
  let durableAt = 0;
  const stopDurable = await engine.onDurableUpdate(DOC_ID, () => {
    durableAt = performance.now();
  });
  const controller = new AbortController();
  let started = performance.now();
  const events = documentEvents(engine, DOC_ID, { signal: controller.signal });
  const first = (await events.next()).value;
  const streamOpenMs = performance.now() - started;
  if (first?.type !== 'STATE_SNAPSHOT') throw new Error(`the stream began with ${first?.type}`);
  const rssWithStreamMB = memoryNow().rssMB;
  const random = randomFrom(11);
  const times = [];
  const totals = [];
  for (let n = 0; n < DELTA_WARMUP + writes; n++) {
    const path = `/records/${keyOf(Math.floor(random() * expected.records))}/status`;
    const value = `delta-${n}`;
    started = performance.now();
    const written = engine.write(DOC_ID, (tx) => tx.set(path, value));
    const event = (await events.next()).value;
    const at = performance.now();
    await written;
    const [op, ...rest] = event?.type === 'STATE_DELTA' ? event.delta : [];
    if (op?.op !== 'replace' || op.path !== path || op.value !== value || rest.length > 0) {
      throw new Error(`ystate: write ${n} gave ${JSON.stringify(event).slice(0, 200)}`);
    }
    if (n >= DELTA_WARMUP) {
      times.push(at - durableAt);
      totals.push(at - started);
    }
  }
  controller.abort();
  await events.return();
  stopDurable();
  return {
    mb: expected.mb,
    medianMs: median(times),
    p99Ms: p99(times),
    maxMs: Math.max(...times),
    writeToDeltaMedianMs: median(totals),
    streamOpenMs,
    rssWithStreamMB,
    count: times.length,
  };
}

/**
 * The peer: the app's previous snapshot and its new state are separate JSON objects; one field of
 * the new state changes and fast-json-patch `compare` gives the delta. Also timed: `compare` against
 * a structurally shared copy (an immutable update of the one path), which skips unchanged subtrees
 * by identity but still walks every key of the objects on the path.
 */
function peerDeltas(ydoc, expected, diffs) {
  const previous = ydoc.getMap('state').toJSON();
  const current = ydoc.getMap('state').toJSON();
  ydoc.destroy();
  globalThis.gc?.();
  const random = randomFrom(11);
  const times = [];
  const shared = [];
  for (let n = 0; n < 1 + diffs; n++) {
    const key = keyOf(Math.floor(random() * expected.records));
    const value = `delta-${n}`;
    current.records[key].status = value;
    let started = performance.now();
    const delta = compare(previous, current);
    const ms = performance.now() - started;
    const [op, ...rest] = delta;
    if (
      op?.op !== 'replace' ||
      op.path !== `/records/${key}/status` ||
      op.value !== value ||
      rest.length > 0
    ) {
      throw new Error(`peer: diff ${n} gave ${JSON.stringify(delta).slice(0, 200)}`);
    }
    previous.records[key].status = value;
    const next = {
      ...current,
      records: { ...current.records, [key]: { ...current.records[key], status: `${value}'` } },
    };
    started = performance.now();
    const sharedDelta = compare(current, next);
    const sharedMs = performance.now() - started;
    if (sharedDelta.length !== 1) throw new Error(`peer: the shared diff ${n} has ${sharedDelta.length} ops`);
    if (n > 0) {
      times.push(ms);
      shared.push(sharedMs);
    }
  }
  return {
    mb: expected.mb,
    medianMs: median(times),
    p99Ms: p99(times),
    maxMs: Math.max(...times),
    sharedCopyMedianMs: median(shared),
    count: times.length,
  };
}

/**
 * One latency sample: a server holding the largest state, a writer and a reader; the field
 * updates are sent open-loop at a fixed rate and timed to their arrival at the reader.
 */
async function latencyChild({ dir, size, largest, variant }) {
  const expected = expectedOf(dir, largest);
  const blob = readFileSync(join(dir, `state-${largest}.bin`));
  const stateVector = Y.encodeStateVectorFromUpdate(blob);
  const updates = unframeUpdates(readFileSync(join(dir, 'field-updates.bin')));
  const [setupMarker, ...rest] = updates;
  const warmup = rest.slice(0, size.warmupUpdates);
  const measured = rest.slice(size.warmupUpdates);
  let server;
  let storeCopy;
  if (variant === 'ystate') {
    storeCopy = await copyStore(dir, largest);
    server = new ServerProcess('ystate', {});
    server.dataDir = storeCopy;
  } else {
    server = new ServerProcess('y-websocket-server', {});
  }
  const clients = [];
  try {
    let started = performance.now();
    await server.start();
    const reader = new SyncClient(server, DOC_ID, { stateVector });
    const writer = new SyncClient(server, DOC_ID, { stateVector });
    clients.push(reader, writer);
    const arrivals = new Map();
    const waiting = new Map();
    reader.onMarker = (marker, at) => {
      arrivals.set(marker, at);
      waiting.get(marker)?.();
    };
    const arrival = (marker) =>
      arrivals.has(marker) ? Promise.resolve() : new Promise((resolve) => waiting.set(marker, resolve));
    await Promise.all([reader.synced, writer.synced]);
    if (variant !== 'ystate') {
      // The reference server holds documents in memory: the writer gives it the state.
      for (const update of unframeUpdates(readFileSync(join(dir, 'setup-updates.bin'))))
        writer.sendUpdate(update);
    }
    writer.sendUpdate(setupMarker);
    await withDeadline(arrival('setup.0'), ARRIVAL_GRACE_MS, 'the setup marker');
    const readyMs = performance.now() - started;
    for (const [n, update] of warmup.entries()) {
      writer.sendUpdate(update);
      await withDeadline(arrival(`warm.${n}`), ARRIVAL_GRACE_MS, `warm-up update ${n}`);
    }

    // The measured window: open loop, update n sent at start + n / rate.
    const serverBefore = server.usage();
    const cpuBefore = process.cpuUsage();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const sentAt = [];
    const interval = 1000 / size.updatesPerSec;
    started = performance.now();
    await new Promise((resolve) => {
      let n = 0;
      const sendNext = () => {
        while (n < measured.length && performance.now() >= started + n * interval) {
          sentAt[n] = performance.now();
          writer.sendUpdate(measured[n]);
          n++;
        }
        if (n === measured.length) resolve();
        else setTimeout(sendNext, Math.max(0, started + n * interval - performance.now()));
      };
      sendNext();
    });
    await withDeadline(
      Promise.all(measured.map((_, n) => arrival(`w.${n}`))),
      ARRIVAL_GRACE_MS,
      'the measured updates',
    );
    const windowMs = performance.now() - started;
    delay.disable();
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = server.usage();
    const latencies = measured.map((_, n) => arrivals.get(`w.${n}`) - sentAt[n]);
    // A ystate server stores a checkpoint once it has appended 1,000 entries since it loaded the
    // document (the setup marker and the warm-up count): the updates sent before that one.
    const beforeCheckpoint = latencies.slice(0, CHECKPOINT_ENTRIES - 1 - warmup.length);
    const sample = {
      latencyP50Ms: p50(latencies),
      latencyP99Ms: p99(latencies),
      latencyP99BeforeCheckpointMs: p99(beforeCheckpoint),
      latencyCountBeforeCheckpoint: beforeCheckpoint.length,
      latencyMaxMs: Math.max(...latencies),
      latencyCount: latencies.length,
      latencyOver10Ms: latencies.filter((ms) => ms > 10).length,
      serverReadyMs: Math.round(readyMs),
      serverRssMB: serverAfter.rssMB,
      serverPeakRssMB: serverAfter.peakRssMB,
      serverCpuPercent: (100 * (serverAfter.cpuSeconds - serverBefore.cpuSeconds)) / (windowMs / 1000),
      generatorCpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / windowMs,
      generatorMaxBlockMs: delay.max / 1e6,
      verified: expected.records > 0,
    };
    for (const client of clients) await client.close();
    clients.length = 0;
    if (variant === 'ystate') {
      // Stopped gracefully (its changes flushed), the store shows what the server wrote.
      await server.stop();
      const log = await openFileLog({ dir: storeCopy, fsync: 'never' });
      const head = await log.head(DOC_ID);
      sample.serverCheckpointSeq = (await log.latestCheckpoint(DOC_ID))?.seq ?? 0;
      sample.serverAppendedEntries = head - expected.entries;
      await log.close();
      if (sample.serverAppendedEntries !== updates.length) {
        throw new Error(
          `ystate: the store holds ${sample.serverAppendedEntries} new entries, not ${updates.length}`,
        );
      }
    }
    return sample;
  } finally {
    for (const client of clients) await client.close();
    await server.close();
  }
}

/**
 * A copy of a size's file store in a temp dir (not timed): every sample writes to the store it
 * opens (STATE_DELTA writes, a server's appends), and each must start from the one setup wrote.
 */
async function copyStore(dir, index) {
  const copy = await mkdtemp(join(tmpdir(), 'ystate-bench-large-state-store-'));
  await cp(join(dir, `store-${index}`), copy, { recursive: true });
  return copy;
}

function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function directorySize(dir) {
  let total = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, name));
    if (info.isFile()) total += info.size;
  }
  return total;
}
