/**
 * fan-out-many: 100 documents × 10 clients, every client writing one update per second, each
 * update delivered to the 9 other clients of its document; the latency of every delivery, versus
 * the y-websocket reference server and Hocuspocus (issue 7, scenario 2, second half: p99 < 10 ms).
 *
 * Each sample starts a fresh server process (servers.mjs) and runs the load generator in a fresh
 * Node process (`runInChild`):
 * - 1,000 `SyncClient`s (raw ws, sync protocol, no Y.Doc), 10 per document, open in batches of
 *   500 and sync; each is both a writer (a `MarkerWriter` of its own: its updates set the map key
 *   `bench.<writer>` to `~M<writer>.<n>~` plus padding, ~60 bytes; a key per writer, so that no
 *   concurrent set of one key loses its marker in the server's merge) and a reader of the others;
 * - the 1,000 updates of each second are spread evenly over it (one every millisecond, in a
 *   fixed order of clients, scheduled on absolute times): a warm-up second (not in the
 *   latencies), then the measured seconds — 1,000 updates/s and 9,000 deliveries/s in all;
 * - each client stamps the arrival of each marker (`performance.now()` in the same process as
 *   the send): latency = arrival − send, over every measured delivery (updates × 9). A client's
 *   own updates sent back to it (the y-websocket reference server echoes them) are counted apart;
 * - the sample waits until every delivery arrived (10 s at most after the last send) and checks
 *   the account: each client got each update of the other 9 exactly once. A sample with a
 *   missing or duplicate delivery is reported (`verified: false`) and makes the run exit non-zero.
 * Also per sample, over the measured window (first measured send → last arrival): the server's
 * CPU (`/proc/<pid>/stat`, % of one core), the generator's CPU (`process.cpuUsage`), its event-loop
 * utilisation and its longest event-loop block (a busy generator stamps arrivals late, which
 * counts as latency, and sends late, which does not: the send is stamped when it happens).
 *
 * Variants: `ystate serve` with its default embedded file store (a log file per document, fsync
 * on every append, group commit per document); the same with `--fsync interval` (fsync once a
 * second: a machine crash may lose the last second's acknowledged updates); `ystate serve --redis` against a `redis-server` of
 * the scenario's own without persistence (flushed before each sample), to show what the fsyncs
 * cost; the y-websocket reference server (`@y/websocket-server`, documents in memory; first peer);
 * Hocuspocus 4 (on Node 22, in memory, no extension; second peer); Hocuspocus 3 (the same, an
 * older row: issue 12's starting numbers were taken against it); and the floor: a bare `ws` relay that forwards each update
 * message as received, no CRDT work (fan-out-relay-server.mjs). For ystate the sample also holds
 * what its `/metrics` reported over the measured window (log append and receive-to-broadcast
 * latency, its longest event-loop delay). `YSTATE_BENCH_PROFILE_DIR=/tmp/x` runs ystate with
 * `--cpu-prof` into that directory.
 */

import { startRedisServer } from '@ystate/redis/testing';
import {
  fanOutMetrics,
  peerVariant,
  round,
  runFanOutSample,
  runManyWriters,
  serverVariants,
} from './fan-out-clients.mjs';
import { runScenario } from './harness.mjs';
import { NODE_22 } from './node-22.mjs';
import { redisVersion } from './servers.mjs';

/** Clients opened at once (the next batch waits until these have synced). */
const BATCH = 500;
/** Padding of each update after its marker, in characters. */
const PADDING = 32;
/** How long a sample waits for the last deliveries after the last send. */
const DRAIN_TIMEOUT_MS = 10_000;

const unverified = [];

/**
 * ystate's and the peers' variants, plus ystate with the file store fsyncing once a second
 * (`--fsync interval`: a machine crash may lose the last second) and on a Redis of the scenario's
 * own (no fsync at all), and Hocuspocus 3 as an older peer.
 */
const variants = [
  serverVariants[0],
  {
    id: 'ystate-fsync-interval',
    kind: 'ystate',
    label: 'ystate serve --fsync interval',
    role: 'ours',
    args: ['--fsync', 'interval'],
  },
  { id: 'ystate-redis', kind: 'ystate', label: 'ystate serve --redis', role: 'ours', redis: true },
  ...serverVariants.slice(1, -1),
  peerVariant('hocuspocus-3'),
  serverVariants.at(-1),
];

await runScenario({
  name: 'fan-out-many',
  title: 'Fan-out: 100 documents × 10 clients, every client writing 1 update/s — delivery latency',
  versions: [
    '@ystate/server',
    '@ystate/file',
    'yjs',
    'ws',
    '@y/websocket-server',
    '@hocuspocus/server-4',
    NODE_22,
    '@hocuspocus/server',
  ],
  sizes: {
    smoke: { documents: 10, clientsPerDocument: 5, seconds: 1, warmupSeconds: 0.4, rounds: 1 },
    full: { documents: 100, clientsPerDocument: 10, seconds: 15, warmupSeconds: 1, rounds: 3 },
  },
  metrics: fanOutMetrics(10),
  setup,
  child,
});

if (unverified.length > 0) {
  console.error(`\nfan-out-many: deliveries missing or duplicated in ${unverified.join('; ')}`);
  process.exitCode = 1;
}

async function setup(size) {
  const redis = await startRedisServer();
  const clients = size.documents * size.clientsPerDocument;
  const receivers = size.clientsPerDocument - 1;
  return {
    params: {
      documents: size.documents,
      clientsPerDocument: size.clientsPerDocument,
      connections: clients,
      updatesPerClientPerSecond: 1,
      updatesPerSecond: clients,
      deliveriesPerSecond: clients * receivers,
      measuredSeconds: size.seconds,
      warmupSeconds: size.warmupSeconds,
      measuredUpdates: clients * size.seconds,
      measuredDeliveries: clients * size.seconds * receivers,
      schedule: `one update every ${round(1000 / clients, 3)} ms, clients in a fixed order (documents interleaved)`,
      update: `MarkerWriter: map.set of the writer's own key to a ${PADDING}-character padded marker (~60 bytes)`,
      connectBatch: BATCH,
      latency: 'receiver arrival − writer send, performance.now() in the one generator process',
      isolation: 'a fresh server process and a fresh generator process per sample',
      redis: `ystate serve --redis: a redis-server ${await redisVersion(redis)} of the scenario's own, no persistence (save '', appendonly no), flushed before each sample`,
    },
    variants: variants.map((variant) => ({
      id: variant.id,
      label: variant.label,
      role: variant.role,
      run: async () => {
        if (variant.redis) await redis.cli('flushall');
        const { documents, clientsPerDocument, seconds, warmupSeconds } = size;
        return runFanOutSample(
          variant,
          import.meta.url,
          { documents, clientsPerDocument, seconds, warmupSeconds },
          unverified,
          { redis: variant.redis ? redis.url : undefined, args: variant.args },
        );
      },
    })),
    cleanup: () => redis.stop(),
  };
}

/** One sample in the generator process: open every client, send on schedule, wait, account. */
function child({ url, dialect, pid, ystateMetrics, documents, clientsPerDocument, seconds, warmupSeconds }) {
  return runManyWriters({
    servers: [{ url, dialect }],
    pids: pid,
    ystateMetrics,
    documents,
    clientsPerDocument,
    seconds,
    warmupSeconds,
    padding: PADDING,
    batch: BATCH,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  });
}
