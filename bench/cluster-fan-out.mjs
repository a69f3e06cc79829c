/**
 * cluster-fan-out: the fan-out-many load (documents × clients, every client writing one update per
 * second, each update delivered to the other clients of its document) on **several `ystate serve`
 * nodes**, a document's clients spread over the nodes so that most deliveries cross from one node
 * to another through Redis. It checks the capacity model of docs/scaling.md against a real
 * multi-node run: what each node, each Redis and the whole spend per update, next to one node.
 *
 * Variants, alternating:
 * - **3 nodes on a Redis Cluster**: three `ystate serve --redis-cluster` processes on a cluster of
 *   three masters (no replicas; `startCluster` of @ystate/redis/testing), sharded Pub/Sub;
 * - **3 nodes on one Redis**: the same three nodes with `--redis` on one `redis-server`;
 * - **1 node on one Redis**: fan-out-many's `ystate serve --redis` variant, the baseline the
 *   model's per-update costs come from (role `peer` for the harness, so the ratios are to it).
 * Redis has no persistence in all three (`--save ''`, `appendonly no`) and is flushed before each
 * sample. Client `slot` of each document connects to node `slot mod 3`.
 *
 * The generator is fan-out-many's (`runManyWriters` in fan-out-clients.mjs), with the same
 * account of every delivery. Per sample, over the measured window: the nodes' CPU (sum and each),
 * the Redis servers' CPU (sum and each, from /proc), both also per update written; from `INFO
 * commandstats` of every master over the whole sample (warm-up and connecting included) every
 * command's calls and time, the appends (`RPUSH`es inside the script) and the script's time per
 * append; each node's peak RSS.
 */

import { startCluster, startRedisServer } from '@ystate/redis/testing';
import { accountOf, fanOutMetrics, round, runManyWriters } from './fan-out-clients.mjs';
import { runInChild, runScenario } from './harness.mjs';
import { redisVersion, startServer } from './servers.mjs';

const BATCH = 500;
const PADDING = 32;
const DRAIN_TIMEOUT_MS = 10_000;
const NODES = 3;

const unverified = [];

const variants = [
  {
    id: 'cluster-3',
    label: '3 nodes, Redis Cluster (3 masters)',
    nodes: NODES,
    store: 'cluster',
    role: 'ours',
  },
  { id: 'redis-3', label: '3 nodes, one Redis', nodes: NODES, store: 'redis', role: 'ours' },
  // The baseline the ratios divide by (the harness calls the variant compared against a peer).
  { id: 'redis-1', label: '1 node, one Redis', nodes: 1, store: 'redis', role: 'peer' },
];

await runScenario({
  name: 'cluster-fan-out',
  title: 'Fan-out on 3 ystate nodes: a Redis Cluster of 3 masters against one Redis, and one node',
  versions: ['@ystate/server', '@ystate/redis', 'ioredis', 'yjs', 'ws'],
  sizes: {
    smoke: { documents: 10, clientsPerDocument: 6, seconds: 1, warmupSeconds: 0.4, rounds: 1 },
    full: { documents: 100, clientsPerDocument: 10, seconds: 15, warmupSeconds: 1, rounds: 2 },
  },
  metrics: [
    ...fanOutMetrics(10).filter((metric) => metric.key !== 'generatorMaxBlockMs'),
    { key: 'redisCpuPct', label: 'Redis CPU', unit: '% core' },
    { key: 'serverCpuUsPerUpdate', label: 'nodes CPU per update', unit: 'µs' },
    { key: 'redisCpuUsPerUpdate', label: 'Redis CPU per update', unit: 'µs' },
  ],
  setup,
  child,
});

if (unverified.length > 0) {
  console.error(`\ncluster-fan-out: deliveries missing or duplicated in ${unverified.join('; ')}`);
  process.exitCode = 1;
}

async function setup(size) {
  const cluster = await startCluster(3);
  const redis = await startRedisServer();
  const clients = size.documents * size.clientsPerDocument;
  const receivers = size.clientsPerDocument - 1;
  return {
    params: {
      documents: size.documents,
      clientsPerDocument: size.clientsPerDocument,
      connections: clients,
      updatesPerSecond: clients,
      deliveriesPerSecond: clients * receivers,
      measuredSeconds: size.seconds,
      warmupSeconds: size.warmupSeconds,
      measuredUpdates: clients * size.seconds,
      measuredDeliveries: clients * size.seconds * receivers,
      spread: `client slot s of each document on node s mod ${NODES} (1 node: all on it)`,
      crossNodeShare: `${round(crossNodeShare(size.clientsPerDocument), 3)} of the deliveries with 3 nodes`,
      redis: `redis-server ${await redisVersion(redis)}, no persistence, flushed before each sample; the cluster: 3 masters, no replicas, cluster-node-timeout 2000`,
      generator: "fan-out-many's (runManyWriters): raw SyncClients, every delivery accounted for",
    },
    variants: variants.map((variant) => ({
      id: variant.id,
      label: variant.label,
      role: variant.role,
      run: () => runSample(variant, size, variant.store === 'cluster' ? cluster.nodes : [redis]),
    })),
    cleanup: async () => {
      await cluster.stop();
      await redis.stop();
    },
  };
}

/** The share of deliveries whose receiver is on another node than the writer (slot mod 3). */
function crossNodeShare(clientsPerDocument) {
  let cross = 0;
  let all = 0;
  for (let writer = 0; writer < clientsPerDocument; writer++)
    for (let reader = 0; reader < clientsPerDocument; reader++) {
      if (reader === writer) continue;
      all++;
      if (reader % NODES !== writer % NODES) cross++;
    }
  return cross / all;
}

/** One sample: fresh nodes on the flushed store, the generator in a fresh process, then the Redis account. */
async function runSample(variant, size, redisNodes) {
  await Promise.all(redisNodes.map((node) => node.cli('flushall')));
  await Promise.all(redisNodes.map((node) => node.cli('config', 'resetstat')));
  const store =
    variant.store === 'cluster'
      ? { redisCluster: redisNodes.map((node) => node.url).join(',') }
      : { redis: redisNodes[0].url };
  const servers = [];
  try {
    for (let i = 0; i < variant.nodes; i++) servers.push(await startServer('ystate', store));
    const { documents, clientsPerDocument, seconds, warmupSeconds } = size;
    const sample = await runInChild(import.meta.url, {
      servers: servers.map((server) => ({ url: server.url, dialect: server.dialect })),
      pids: servers.map((server) => server.pid),
      redisPids: redisNodes.map((node) => node.pid),
      documents,
      clientsPerDocument,
      seconds,
      warmupSeconds,
    });
    sample.nodePeakRssMB = servers.map((server) => round(server.usage().peakRssMB, 1));
    // Per update sent in the measured window (not per delivery, nor per delivery that arrived):
    // what the capacity model of docs/scaling.md counts.
    const updates = documents * clientsPerDocument * seconds;
    sample.serverCpuUsPerUpdate = round((sample.serverCpuSeconds * 1e6) / updates, 1);
    sample.redisCpuUsPerUpdate = round(((sample.redisCpuPct / 100) * sample.wallSeconds * 1e6) / updates, 1);
    Object.assign(sample, await redisAccount(redisNodes));
    if (!sample.verified) unverified.push(`${variant.label}: ${JSON.stringify(accountOf(sample))}`);
    return sample;
  } finally {
    for (const server of servers) await server.stop();
    for (const server of servers) await server.close();
  }
}

/** What the Redis servers did over the sample (`INFO commandstats` since the reset). */
async function redisAccount(redisNodes) {
  const totals = {};
  for (const node of redisNodes) {
    const stats = await node.cli('info', 'commandstats');
    for (const [, name, calls, usec] of stats.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
      totals[name] ??= { calls: 0, usec: 0 };
      totals[name].calls += Number(calls);
      totals[name].usec += Number(usec);
    }
  }
  // Every append runs the script once (EVALSHA), with one RPUSH inside; Redis counts both, and
  // the script's time includes its inner commands'.
  const scripts = totals.evalsha ?? { calls: 0, usec: 0 };
  const appends = totals.rpush?.calls ?? 0;
  return {
    redisCommands: totals,
    appendCalls: appends,
    redisScriptUsPerAppend: appends > 0 ? round(scripts.usec / appends, 2) : Number.NaN,
  };
}

/** One sample in the generator process. */
function child({ servers, pids, redisPids, documents, clientsPerDocument, seconds, warmupSeconds }) {
  return runManyWriters({
    servers,
    pids: servers.length === 1 ? pids[0] : pids,
    others: { redis: redisPids },
    ystateMetrics: true,
    documents,
    clientsPerDocument,
    seconds,
    warmupSeconds,
    padding: PADDING,
    batch: BATCH,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  });
}
