/** y-redis 1.x documents (`<name>:updates` lists) in a Redis or Redis Cluster, as a migration source. */

import type { Logger } from 'pino';
import { connectRedis, type RedisTarget, redisAddress } from '../store.js';
import type { MigrationSource } from './source.js';

/** Connects to the Redis y-redis wrote to. */
export async function openYRedisSource(target: RedisTarget, logger: Logger): Promise<MigrationSource> {
  const { yRedisUpdates } = await import('@ystate/redis');
  const source = await connectRedis(target, logger, { layout: 'y-redis' });
  return {
    kind: 'y-redis',
    description: `y-redis at ${redisAddress(target)}`,
    names: () => source.log.docIds(),
    count: (name) => source.log.head(name),
    updates: (name) => yRedisUpdates(source.redis, name),
    describe: (name, index) => `element ${index} of "${name}:updates"`,
    close: () => source.close(),
  };
}
