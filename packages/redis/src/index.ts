/**
 * @ystate/redis — the production store of ystate: each document's log is a Redis list of entry
 * frames appended by one atomic Lua script (number, push, publish), Pub/Sub carries entries
 * between nodes (sharded Pub/Sub on Redis Cluster) with gap filling from the list, checkpoints are
 * stored under a short lease, and a `y-redis` layout shares documents with y-redis 1.x. See
 * docs/redis.md.
 */

export type { RedisClusterConfig, RedisConnectionConfig } from './connection.js';
export type { YRedisImportOptions, YRedisImportResult } from './import-y-redis.js';
export { importYRedisDocument, yRedisUpdates } from './import-y-redis.js';
export type { DocumentKeys, RedisLayout, YRedisKeys } from './keys.js';
export { DEFAULT_PREFIX, documentKeys, keySlot, yRedisKeys } from './keys.js';
export type { RedisSyncBusOptions } from './redis-bus.js';
export { RedisSyncBus } from './redis-bus.js';
export type { RedisDeliveryStoreOptions } from './redis-delivery.js';
export { RedisDeliveryStore } from './redis-delivery.js';
export type { RedisUpdateLogOptions } from './redis-log.js';
export { RedisUpdateLog } from './redis-log.js';
export type { RedisStore, RedisStoreOptions } from './store.js';
export { createRedisStore } from './store.js';
export type { YRedisUpdateLogOptions } from './y-redis-log.js';
export { Y_REDIS_ORIGIN, YRedisUpdateLog } from './y-redis-log.js';
