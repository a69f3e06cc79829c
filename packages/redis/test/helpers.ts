/** Shared pieces of the Redis tests: servers started once per file, unique prefixes, waiting with a deadline. */

import { Cluster, Redis } from 'ioredis';
import {
  type RedisClusterHandle,
  type RedisServer,
  useRedisCluster,
  useRedisServer,
} from '../src/testing/index.js';

export { useRedisServer };
export const useCluster = useRedisCluster;

let prefixes = 0;

/** A prefix no other test in this process uses, so tests on one server never see each other's keys. */
export function uniquePrefix(name = 't'): string {
  prefixes += 1;
  return `${name}${process.pid}-${prefixes}-${Math.random().toString(36).slice(2, 8)}:`;
}

/** A connection with the settings `createRedisStore` uses. */
export function connectTo(server: RedisServer): Redis {
  const redis = new Redis({ host: server.host, port: server.port, enableAutoPipelining: true });
  redis.on('error', () => undefined);
  return redis;
}

export function connectToCluster(cluster: RedisClusterHandle): Cluster {
  const redis = new Cluster([...cluster.startupNodes], { enableAutoPipelining: true });
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once `check` returns true, polling on each macrotask; rejects after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rejects when `promise` does not settle within `ms`: no caller is left waiting forever. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
