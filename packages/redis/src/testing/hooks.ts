/**
 * Vitest hooks around the harness: a server or cluster started in `beforeAll` and stopped in
 * `afterAll` of the calling file. Needs `vitest` (an optional peer dependency).
 */

import { afterAll, beforeAll } from 'vitest';
import {
  type RedisClusterHandle,
  type RedisClusterOptions,
  RedisServer,
  type RedisServerOptions,
  startCluster,
} from './redis-server.js';

/** Starts a server before the file's tests and stops it after them; the getter throws before start. */
export function useRedisServer(options: RedisServerOptions = {}): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined)
      throw new Error('the Redis server is not started yet (use it inside a test or hook)');
    return server;
  };
}

/**
 * Starts a local cluster of `masters` nodes (each with `options.replicas` replicas) before the
 * file's tests and stops it after them.
 */
export function useRedisCluster(masters = 3, options: RedisClusterOptions = {}): () => RedisClusterHandle {
  let cluster: RedisClusterHandle | undefined;
  beforeAll(async () => {
    cluster = await startCluster(masters, options);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (cluster === undefined)
      throw new Error('the Redis cluster is not started yet (use it inside a test or hook)');
    return cluster;
  };
}
