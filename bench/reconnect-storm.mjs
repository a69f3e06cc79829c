/**
 * reconnect-storm: a node restarts under 1,000 connected clients, and they all reconnect at once
 * (issue 7, scenario 8): the time until every client is synced again, and the server's peak CPU
 * and RSS during the storm. Versus the y-websocket reference server and Hocuspocus.
 *
 * Setup (not timed): each document's state is the first `edits` edits of the automerge-paper
 * trace typed into a Y.Text (real history: insertions and deletions), plus a marker string
 * `~M<docId>~` typed at its end, so that a client can tell, without decoding Yjs, that a message
 * from the server carries the document (see sync-client.mjs). The state is computed once and
 * written to a file the children read.
 *
 * Each sample runs in a fresh Node process (the load generator), with a server process of its own
 * (a new one per sample: an empty data directory, or a flushed Redis):
 * 1. `documents × clientsPerDocument` raw `SyncClient`s connect, each given its document's
 *    `Y.Doc`, so that it answers the server's sync step 1 with what the server lacks (the state
 *    reaches the server from its clients, as when users open documents they edited offline). Once
 *    every client is synced and, for every document, some client has received the marker from the
 *    server (ystate sends an update to other clients only once it is durable), the server holds
 *    every document.
 * 2. The restart: `stop()` (SIGTERM: ystate flushes and closes every socket with 1012; the peers
 *    drop their in-memory documents) and `start()` on the same port (ystate on the same data
 *    directory or Redis, so it reloads documents from its log; the peers start empty).
 * 3. The storm: as soon as the server listens again, all clients reconnect at once (new
 *    `SyncClient`s with the same `Y.Doc`s, created in one loop). A client is synced when the
 *    server's sync step 2 arrives. A peer gets the document back from the reconnecting clients'
 *    step 2; ystate already has it and finds their step 2 redundant. A client whose connection
 *    closes before it synced connects again 100 ms later, as y-websocket's provider does (the
 *    retries and close codes are recorded).
 * Timed: from the reconnect start, and from the restart start (stop included), until every client
 * is synced; also until every document's state is back on the server (some client got its marker
 * from the server). The server process's CPU and RSS are read from /proc every 50 ms on a worker
 * thread from the moment it listens until the storm ends: peak CPU is the highest share of a core
 * over any 100 ms window, peak RSS the highest RSS sampled (and VmHWM, which counts from the
 * restart: the process is new). Afterwards a real client (`WebsocketProvider`, or
 * `HocuspocusProvider`) with an empty `Y.Doc` reads every document from the server and checks its
 * text. The load generator's CPU and longest event-loop block during the storm are recorded.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSequentialTrace } from '@ystate/core/testing/traces';
import { startRedisServer } from '@ystate/redis/testing';
import * as Y from 'yjs';
import { p50, percentile, runInChild, runScenario } from './harness.mjs';
import { NODE_22 } from './node-22.mjs';
import { connectProvider } from './providers.mjs';
import { cpuPeakAndMean, startSampler } from './reconnect-storm-sampler.mjs';
import { redisVersion, serverKinds, startServer } from './servers.mjs';
import { SyncClient } from './sync-client.mjs';

/** How long a connect phase (all clients synced, every document on the server) may take. */
const PHASE_TIMEOUT_MS = 120_000;
/** A client whose connection closes before it synced connects again this much later (y-websocket's first back-off)… */
const RETRY_DELAY_MS = 100;
/** …at most this many times. */
const MAX_RETRIES = 5;
/** The server's CPU and RSS are read this often during the storm. */
const SAMPLE_INTERVAL_MS = 50;
/** Peak CPU is the highest use over any window this long. */
const CPU_WINDOW_MS = 100;

/**
 * One user's connection to a document: a SyncClient that, like y-websocket's provider, connects
 * again 100 ms after a connection that closed or failed before syncing (at most 5 times).
 * `gotState` says whether the server has sent it the document's marker. (Declared before the
 * top-level `await runScenario`, which runs the samples: a class declared after it would not be
 * initialised yet.)
 */
class ClientSlot {
  gotState = false;
  /** Called when the marker arrives. */
  onState = undefined;
  retries = 0;
  /** The close codes of the connections that closed before syncing. */
  closeCodes = [];
  /** `performance.now()` when a socket first opened, and when the client synced. */
  openedAt = Number.NaN;
  syncedAt = Number.NaN;
  #stopped = false;

  constructor(server, docId, document, doc) {
    this.server = server;
    this.docId = docId;
    this.document = document;
    this.doc = doc;
    this.synced = this.#connect();
    this.synced.catch(() => {});
  }

  async #connect() {
    for (;;) {
      const client = new SyncClient(this.server, this.docId, { doc: this.doc });
      this.client = client;
      client.onMarker = (marker) => {
        if (marker !== this.docId) return;
        this.gotState = true;
        this.onState?.();
      };
      client.opened.then(
        () => {
          if (Number.isNaN(this.openedAt)) this.openedAt = performance.now();
        },
        () => {},
      );
      try {
        await client.synced;
        this.syncedAt = performance.now();
        return;
      } catch (error) {
        this.closeCodes.push(await client.closed);
        if (this.#stopped || this.retries >= MAX_RETRIES) throw error;
        this.retries++;
        await sleep(RETRY_DELAY_MS);
        if (this.#stopped) throw error;
      }
    }
  }

  /** Drops the connection; no more attempts. */
  stop() {
    this.#stopped = true;
    return this.client.terminate();
  }
}

const variants = [
  { id: 'ystate-file', kind: 'ystate', label: 'ystate, file store', role: 'ours' },
  { id: 'ystate-redis', kind: 'ystate', redis: true, label: 'ystate --redis', role: 'ours' },
  ...['y-websocket-server', 'hocuspocus-4'].map((kind) => ({
    id: kind,
    kind,
    label: serverKinds[kind].label,
    role: 'peer',
  })),
];

await runScenario({
  name: 'reconnect-storm',
  title: 'Reconnect storm: every client reconnecting at once after a node restart',
  versions: [
    '@ystate/core',
    '@ystate/server',
    '@ystate/file',
    '@ystate/redis',
    '@y/websocket-server',
    '@hocuspocus/server-4',
    '@hocuspocus/provider-4',
    NODE_22,
    'y-websocket',
    'yjs',
    'ws',
  ],
  sizes: {
    smoke: { documents: 5, clientsPerDocument: 10, edits: 5_000, rounds: 2 },
    full: { documents: 100, clientsPerDocument: 10, edits: 20_000, rounds: 5 },
  },
  metrics: [
    { key: 'syncedMs', label: 'reconnect → all synced', unit: 'ms', primary: true },
    { key: 'restartToSyncedMs', label: 'restart → all synced', unit: 'ms' },
    { key: 'peakCpuPct', label: 'server peak CPU', unit: '% of a core' },
    { key: 'peakRssMB', label: 'server peak RSS', unit: 'MB' },
  ],
  setup,
  child,
});

/** Computes the documents' state (one file for the children) and starts the Redis of ystate --redis. */
async function setup(size) {
  if (size.clientsPerDocument < 2) {
    throw new Error(
      'clientsPerDocument must be at least 2 (a client sees its own update only from some servers)',
    );
  }
  const trace = loadSequentialTrace('automerge-paper');
  const edits = trace.txns.flatMap((txn) => txn.patches).slice(0, size.edits);
  const doc = new Y.Doc();
  const text = doc.getText('text');
  for (const [pos, del, insert] of edits) {
    doc.transact(() => {
      if (del > 0) text.delete(pos, del);
      if (insert) text.insert(pos, insert);
    });
  }
  const state = Y.encodeStateAsUpdate(doc);
  const textLength = text.length;
  doc.destroy();

  const dir = await mkdtemp(join(tmpdir(), 'ystate-bench-reconnect-storm-'));
  let redis;
  const cleanup = async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'state.bin'), state);
    redis = await startRedisServer();
    const version = await redisVersion(redis);
    const clients = size.documents * size.clientsPerDocument;
    return {
      params: {
        clients,
        documents: size.documents,
        clientsPerDocument: size.clientsPerDocument,
        documentState: `the first ${edits.length.toLocaleString('en-US')} edits of the automerge-paper trace in a Y.Text, plus a marker`,
        textLength,
        stateBytes: state.byteLength,
        client:
          "raw SyncClient (bench/sync-client.mjs), one socket per client, given its document's Y.Doc: sends an empty state vector in its step 1 (the server's step 2 is the whole document), answers the server's step 1 with what the server lacks",
        restart: 'SIGTERM, wait for exit, start on the same port (ystate: same data directory or Redis)',
        storm: 'every client created in one loop as soon as the server listens again',
        synced: "a client has the server's sync step 2",
        sampling: `server CPU and RSS from /proc every ${SAMPLE_INTERVAL_MS} ms on a worker thread; peak CPU over any ${CPU_WINDOW_MS} ms window`,
        generator:
          "generatorCpu*: the load generator's CPU over the storm; generatorMaxBlockMs: its longest event-loop block from the restart to the storm's end; generatorCreateMs: the loop creating the clients",
        verification:
          'afterwards a real provider (WebsocketProvider / HocuspocusProvider) reads every document and checks its text',
        ystate:
          '`ystate serve`: file store (fsync on every append, the default) or `--redis URL`, default options',
        yWebsocket: '@y/websocket-server src/server.js, documents in memory (no YPERSISTENCE)',
        hocuspocus: 'Hocuspocus 4 on Node 22, documents in memory (no persistence extension)',
        redis: `${version}, no persistence, flushed before each ystate --redis sample`,
        isolation: 'each sample in a fresh load-generator process with a new server process',
      },
      variants: variants.map((variant) => ({
        id: variant.id,
        label: variant.label,
        role: variant.role,
        run: async () => {
          if (variant.redis) await redis.cli('flushall');
          return runInChild(import.meta.url, {
            kind: variant.kind,
            redis: variant.redis ? redis.url : undefined,
            dir,
            documents: size.documents,
            clientsPerDocument: size.clientsPerDocument,
          });
        },
      })),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One sample, in a fresh process: connect, restart the server, the storm, verify. */
async function child({ kind, redis, dir, documents, clientsPerDocument, nodeArgs }) {
  const state = readFileSync(join(dir, 'state.bin'));
  const docIds = Array.from({ length: documents }, (_, i) => `storm-${i}`);
  const docs = docIds.map((docId) => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state);
    const text = doc.getText('text');
    text.insert(text.length, `~M${docId}~`);
    return doc;
  });
  const expected = docs.map((doc) => doc.getText('text').toString());

  const server = await startServer(kind, { redis, nodeArgs });
  const output = keepOutput(server);
  let clients = [];
  let sampler;
  try {
    // 1. Everyone connected, every document on the server (untimed).
    const started = performance.now();
    clients = connectAll(server, docIds, docs, clientsPerDocument);
    await within(allSynced(clients), PHASE_TIMEOUT_MS, 'first connect: not every client synced');
    await within(allStored(clients, documents), PHASE_TIMEOUT_MS, 'first connect: not every document stored');
    const initialConnectMs = performance.now() - started;
    const before = server.usage();

    // 2. The restart, 3. the storm.
    sampler = await startSampler({ intervalMs: SAMPLE_INTERVAL_MS });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const restartStart = performance.now();
    await server.stop();
    const stopMs = performance.now() - restartStart;
    const initialRetries = retriesOf(clients);
    await Promise.all([server.start(), ...clients.map((c) => c.client.closed)]);
    output.follow();
    const stormStart = performance.now();
    sampler.watch(server.pid);
    const cpuBefore = process.cpuUsage();
    const overflowsBefore = listenOverflows();
    clients = connectAll(server, docIds, docs, clientsPerDocument);
    const createMs = performance.now() - stormStart;
    await within(allSynced(clients), PHASE_TIMEOUT_MS, 'storm: not every client synced');
    const syncedAt = performance.now();
    await within(
      allStored(clients, documents),
      PHASE_TIMEOUT_MS,
      'storm: not every document back on the server',
    );
    const storedAt = performance.now();
    const opens = clients.map((c) => c.openedAt - stormStart);
    const syncs = clients.map((c) => c.syncedAt - stormStart);
    const cpu = process.cpuUsage(cpuBefore);
    const overflows = listenOverflows() - overflowsBefore;
    const samples = await sampler.stop();
    const after = server.usage();
    delay.disable();

    // Every document's state, read by a real client with an empty document.
    await verify(kind, server.url, docIds, expected);

    const { peakCpuPct, meanCpuPct } = cpuPeakAndMean(samples, CPU_WINDOW_MS);
    return {
      syncedMs: syncedAt - stormStart,
      restartToSyncedMs: syncedAt - restartStart,
      peakCpuPct,
      peakRssMB: Math.max(...samples.map((s) => s.rssMB)),
      stateBackMs: storedAt - stormStart,
      stopMs,
      startMs: stormStart - restartStart - stopMs,
      meanCpuPct,
      serverCpuSeconds: samples.at(-1).cpuSeconds - samples[0].cpuSeconds,
      vmHwmMB: after.peakRssMB,
      rssAfterMB: after.rssMB,
      rssBeforeRestartMB: before.rssMB,
      cpuSamples: samples.length,
      clients: clients.length,
      synced: clients.filter((c) => Number.isFinite(c.syncedAt)).length,
      receivedMB: clients.reduce((sum, c) => sum + c.client.received.bytes, 0) / 2 ** 20,
      initialConnectMs,
      generatorCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / (storedAt - stormStart),
      generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
      generatorMaxBlockMs: delay.count > 0 ? delay.max / 1e6 : 0,
      generatorCreateMs: createMs,
      openP50Ms: p50(opens),
      openMaxMs: Math.max(...opens),
      clientSyncedP50Ms: p50(syncs),
      clientSyncedP90Ms: percentile(syncs, 90),
      ...retriesOf(clients),
      listenOverflows: overflows,
      initialRetries: initialRetries.retries,
      verified: true,
    };
  } catch (error) {
    // What the server said last (ystate logs why it closed a connection) explains most failures.
    process.stderr.write(`${kind} server output before the failure:\n${output.lines.join('\n')}\n`);
    throw error;
  } finally {
    await sampler?.close();
    await Promise.all(clients.map((c) => c.stop()));
    // A graceful stop first (a server run with --cpu-prof writes its profile then), then SIGKILL
    // if it has not exited within 5 s, and the data directory removed.
    await within(server.stop(), 5000, 'graceful stop').catch(() => {});
    await server.close();
  }
}

/**
 * The last lines the server printed, kept to explain a failure (`follow()` again after a restart:
 * the process is new).
 */
function keepOutput(server) {
  const lines = [];
  const follow = () => {
    let partial = '';
    server.child.stdout.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      lines.push(...parts.filter((line) => !line.includes('"level":30') || line.includes('closing')));
      lines.splice(0, Math.max(0, lines.length - 40));
    });
  };
  follow();
  return { lines, follow };
}

/**
 * The kernel's count of connections dropped because a listening socket's accept queue was full
 * (`TcpExt ListenOverflows`, for the whole machine): while a server is too busy to accept, clients
 * beyond its backlog (511 by default in Node) wait for TCP to retransmit (1 s, then 3 s…).
 */
function listenOverflows() {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('TcpExt:'))
    .map((line) => line.split(/\s+/));
  return Number(values?.[names?.indexOf('ListenOverflows')] ?? Number.NaN);
}

/** `clientsPerDocument` clients for each document, created in one loop. */
function connectAll(server, docIds, docs, clientsPerDocument) {
  const clients = [];
  for (let d = 0; d < docIds.length; d++) {
    for (let i = 0; i < clientsPerDocument; i++) clients.push(new ClientSlot(server, docIds[d], d, docs[d]));
  }
  return clients;
}

/** Resolves once every client is synced (rejects as soon as one gives up). */
function allSynced(clients) {
  return Promise.all(clients.map((client) => client.synced));
}

/** How many connections were made again, and the close codes that made them. */
function retriesOf(clients) {
  const closeCodes = {};
  for (const client of clients)
    for (const code of client.closeCodes) closeCodes[code] = (closeCodes[code] ?? 0) + 1;
  return { retries: clients.reduce((sum, client) => sum + client.retries, 0), closeCodes };
}

/** Resolves once, for every document, some client has received its marker from the server. */
function allStored(clients, documents) {
  const stored = new Set(clients.filter((c) => c.gotState).map((c) => c.document));
  if (stored.size === documents) return Promise.resolve();
  return new Promise((resolve) => {
    for (const entry of clients) {
      entry.onState = () => {
        if (!entry.gotState || stored.has(entry.document)) return;
        stored.add(entry.document);
        if (stored.size === documents) resolve();
      };
    }
  });
}

/** Reads every document with a real client and an empty Y.Doc; throws unless its text is `expected`. */
async function verify(kind, url, docIds, expected) {
  // Each WebsocketProvider listens to the process's 'exit' (removed on destroy): one per document.
  process.setMaxListeners(Math.max(process.getMaxListeners(), docIds.length + 10));
  const readers = docIds.map((docId) => connectProvider(kind, url, docId));
  try {
    await within(
      Promise.all(readers.map((reader) => reader.synced)),
      PHASE_TIMEOUT_MS,
      'verification: the readers did not sync',
    );
    readers.forEach((reader, i) => {
      if (reader.doc.getText('text').toString() !== expected[i]) {
        throw new Error(`${docIds[i]}: the server's document is not the clients' state`);
      }
    });
  } finally {
    for (const reader of readers) reader.destroy();
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
