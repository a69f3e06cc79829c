/** Shared pieces of the Redis tests: servers started once per file, unique prefixes, waiting with a deadline. */

import { eventually, within } from '@ystate/core/testing';
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

export { eventually, within };
