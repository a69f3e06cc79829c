/**
 * fan-out: one document, 1,000 readers, one writer sending 10 updates per second; the latency
 * of every delivery (writer's send → a reader's arrival), versus the y-websocket reference server
 * and Hocuspocus (issue 7, scenario 2, first half: p99 < 30 ms).
 *
 * Each sample starts a fresh server process (servers.mjs) and runs the load generator in a fresh
 * Node process (`runInChild`):
 * - 1,000 reader `SyncClient`s (raw ws, sync protocol, no Y.Doc) open in batches of 500 and
 *   sync; then one more client, the writer, so there are 1,001 connections and every update has
 *   exactly 1,000 receivers;
 * - the writer sends `MarkerWriter` updates (a map key set to `~Mw.<n>~` plus padding: ~60-byte
 *   updates) at a steady 10 per second, scheduled on absolute times: a warm-up second (not in the
 *   latencies), then the measured updates;
 * - each reader stamps the arrival of each marker (`performance.now()` in the same process as
 *   the send): latency = arrival − send, over every measured delivery (updates × 1,000);
 * - the sample waits until every delivery arrived (10 s at most after the last send) and checks
 *   the account: each reader got each update exactly once. A sample with a missing or duplicate
 *   delivery is reported (`verified: false`) and makes the run exit non-zero.
 * Also per sample, over the measured window (first measured send → last arrival): the server's
 * CPU (`/proc/<pid>/stat`, % of one core), the generator's CPU (`process.cpuUsage`), its event-loop
 * utilisation and its longest event-loop block: the generator stamps arrivals on its one thread,
 * so while it is busy with one message the next reader's arrival waits, which counts as latency.
 *
 * Variants: `ystate serve` with its default embedded file store (fsync on every append, group
 * commit), the y-websocket reference server (`@y/websocket-server`, documents in memory; first
 * peer), Hocuspocus 4 (on Node 22, in memory, no extension; second peer), and the floor: a bare `ws` relay that forwards each
 * update message as received, no CRDT work (fan-out-relay-server.mjs). For ystate the sample also
 * holds what its `/metrics` reported over the measured window (log append and receive-to-broadcast
 * latency, its longest event-loop delay). `YSTATE_BENCH_PROFILE_DIR=/tmp/x` runs ystate with
 * `--cpu-prof` into that directory.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeClients,
  Deliveries,
  fanOutMetrics,
  finishFanOutSample,
  openClients,
  runFanOutSample,
  scrapeYstate,
  serverVariants,
  startMeters,
} from './fan-out-clients.mjs';
import { runScenario } from './harness.mjs';
import { NODE_22 } from './node-22.mjs';
import { MarkerWriter } from './sync-client.mjs';

const DOC_ID = 'fan-out';
/** Clients opened at once (the next batch waits until these have synced). */
const BATCH = 500;
/** Padding of each update after its marker, in characters. */
const PADDING = 32;
/** How long a sample waits for the last deliveries after the last send. */
const DRAIN_TIMEOUT_MS = 10_000;

const unverified = [];

await runScenario({
  name: 'fan-out',
  title: 'Fan-out: one document, 1,000 readers, one writer at 10 updates/s — delivery latency',
  versions: [
    '@ystate/server',
    '@ystate/file',
    'yjs',
    'ws',
    '@y/websocket-server',
    '@hocuspocus/server-4',
    NODE_22,
  ],
  sizes: {
    smoke: { readers: 50, rate: 10, seconds: 1.5, warmupSeconds: 0.3, rounds: 1 },
    full: { readers: 1000, rate: 10, seconds: 15, warmupSeconds: 1, rounds: 3 },
  },
  metrics: fanOutMetrics(30),
  setup,
  child,
});

if (unverified.length > 0) {
  console.error(`\nfan-out: deliveries missing or duplicated in ${unverified.join('; ')}`);
  process.exitCode = 1;
}

function setup(size) {
  const updates = size.rate * size.seconds;
  const warmup = Math.round(size.rate * size.warmupSeconds);
  return {
    params: {
      documents: 1,
      readers: size.readers,
      writers: 1,
      connections: size.readers + 1,
      updatesPerSecond: size.rate,
      measuredUpdates: updates,
      warmupUpdates: warmup,
      measuredDeliveries: updates * size.readers,
      update: `MarkerWriter map.set of a ${PADDING}-character padded marker (~60 bytes)`,
      connectBatch: BATCH,
      latency: 'reader arrival − writer send, performance.now() in the one generator process',
      isolation: 'a fresh server process and a fresh generator process per sample',
    },
    variants: serverVariants.map((variant) => ({
      id: variant.id,
      label: variant.label,
      role: variant.role,
      run: () =>
        runFanOutSample(
          variant,
          import.meta.url,
          { readers: size.readers, rate: size.rate, updates, warmup },
          unverified,
        ),
    })),
  };
}

/** One sample in the generator process: open the readers and the writer, send, wait, account. */
async function child({ url, dialect, pid, ystateMetrics, readers, rate, updates, warmup }) {
  const server = { url, dialect };
  const deliveries = new Deliveries({ markers: warmup + updates, receivers: readers });
  let clients = [];
  try {
    const connectStart = performance.now();
    const specs = Array.from({ length: readers }, (_, r) => ({
      docId: DOC_ID,
      onMarker: deliveries.receiver(r),
    }));
    clients = await openClients(server, specs, { batch: BATCH });
    const [writer] = await openClients(server, [{ docId: DOC_ID }]);
    clients.push(writer);
    const connectMs = performance.now() - connectStart;

    const markers = new MarkerWriter('w', { padding: PADDING });
    const interval = 1000 / rate;
    let meters;
    let scraped;
    let lastSend = 0;
    let start = performance.now() + interval;
    for (let i = 0; i < warmup + updates; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      if (i === warmup) {
        if (ystateMetrics) {
          // The schedule goes on from where reading the metrics paused it (no burst of late sends).
          const paused = performance.now();
          scraped = await scrapeYstate(url);
          start += performance.now() - paused;
        }
        meters = startMeters(pid);
      }
      const { marker, update } = markers.next();
      lastSend = performance.now();
      deliveries.sent(marker, lastSend, i >= warmup);
      writer.sendUpdate(update);
    }
    const sample = await finishFanOutSample({
      deliveries,
      meters,
      scraped,
      url,
      ystateMetrics,
      lastSend,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
    return { ...sample, connectMs };
  } finally {
    await closeClients(clients);
  }
}
