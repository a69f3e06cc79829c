/**
 * @ystate/redis/testing — real `redis-server` processes for tests: single servers that can be
 * SIGKILLed and restarted on the same port and dir, local Redis Clusters, and Vitest hooks that
 * start them before a file's tests and stop them after. Needs `redis-server` and `redis-cli` on
 * the PATH (or `REDIS_SERVER_BIN` / `REDIS_CLI_BIN`) and `vitest` for the hooks.
 */

export { useRedisCluster, useRedisServer } from './hooks.js';
export type { RedisClusterHandle, RedisClusterOptions, RedisServerOptions } from './redis-server.js';
export { RedisServer, startCluster, startRedisServer } from './redis-server.js';
