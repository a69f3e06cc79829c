/** Making ioredis connections from options, and the few things done on every master of a cluster. */

import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A Redis Cluster to connect to: its startup nodes plus ioredis `ClusterOptions`. */
export interface RedisClusterConfig extends ClusterOptions {
  nodes: ClusterNode[];
}

/** Where Redis is: a URL (`redis://host:port/db`), ioredis `RedisOptions`, or a cluster. */
export type RedisConnectionConfig = string | RedisOptions | RedisClusterConfig;

/**
 * How often a cluster connection asks for the slot map even when nothing told it the map changed.
 * ioredis 5 documents a default of 5 s but sets none: a node that never meets a `MOVED` (it only
 * reads a document's channel, say) would never learn that a failover moved the document's slot,
 * and its sharded subscriptions would stay on a node that dropped them.
 */
const SLOTS_REFRESH_INTERVAL_MS = 2_000;

/** The default reconnect backoff of ioredis, stated here because node connections lack one. */
export function retryStrategy(times: number): number {
  return Math.min(times * 50, 2000);
}

/**
 * A command connection with auto-pipelining on: commands issued in the same event-loop turn
 * (concurrent appends from many documents, say) go out as one pipeline, one per node on a cluster.
 */
export function connect(config: RedisConnectionConfig): Redis | Cluster {
  if (typeof config === 'string') return new Redis(config, { enableAutoPipelining: true });
  if (isClusterConfig(config)) {
    const { nodes, ...options } = config;
    return new Cluster(nodes, {
      enableAutoPipelining: true,
      slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
      ...options,
    });
  }
  return new Redis({ enableAutoPipelining: true, ...config });
}

export function isClusterConfig(config: RedisConnectionConfig): config is RedisClusterConfig {
  return typeof config === 'object' && config !== null && Array.isArray((config as RedisClusterConfig).nodes);
}

export function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** The connections to run a per-node command on: the masters of a cluster, or the one server. */
export async function masters(redis: Redis | Cluster): Promise<Redis[]> {
  if (!isCluster(redis)) return [redis];
  await ready(redis);
  return redis.nodes('master');
}

const readiness = new WeakMap<Cluster, Promise<void>>();

/**
 * Resolves once a cluster has its slot map (connecting it if it was lazy); rejects when it ends or
 * is not ready within `timeoutMs`, so nobody waits forever on a cluster that is down.
 */
export function ready(cluster: Cluster, timeoutMs = 10_000): Promise<void> {
  if (cluster.status === 'ready') return Promise.resolve();
  if (cluster.status === 'wait') return cluster.connect();
  let pending = readiness.get(cluster);
  if (pending === undefined) {
    pending = new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        cluster.off('ready', onReady);
        cluster.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onEnd = () => settle(new Error('the cluster connection ended'));
      const timer = setTimeout(
        () =>
          settle(new Error(`the cluster was not ready within ${timeoutMs} ms (status ${cluster.status})`)),
        timeoutMs,
      );
      cluster.once('ready', onReady);
      cluster.once('end', onEnd);
    }).finally(() => readiness.delete(cluster));
    readiness.set(cluster, pending);
  }
  return pending;
}

/** Every key matching `pattern` on every master (SCAN, so the servers are never blocked). */
export async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of await masters(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

/**
 * Replies that mean a cluster did not run a command: its slot has moved (`MOVED`, `ASK`: after a
 * failover or during a reshard) or the cluster is briefly unable to serve it (`TRYAGAIN`,
 * `CLUSTERDOWN`: while a replica is being promoted).
 */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/** How long `retryNotRun` keeps trying: long enough for an automatic failover to finish. */
const NOT_RUN_RETRY_MS = 10_000;

/**
 * Runs `call`, and on a cluster runs it again while it fails with a reply that says it did not
 * run (see `NOT_RUN`), refreshing the slot map in between, for up to 10 s. ioredis follows such
 * redirections itself for a lone command, but not inside an auto-pipelined batch that also
 * holds commands that succeeded, which is how an append or a read fails during a failover.
 */
export async function retryNotRun<T>(redis: Redis | Cluster, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + NOT_RUN_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isCluster(redis) || !NOT_RUN.test((error as Error)?.message ?? '') || Date.now() > deadline)
        throw error;
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * attempt, 250)));
    }
  }
}

/** The `host:port` key ioredis gives a cluster node. */
export function nodeKeyOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}
