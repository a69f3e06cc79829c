import { runEngineFaultTests } from '@ystate/core/testing';
import { RedisUpdateLog } from '../src/index.js';
import { connectTo, uniquePrefix, useRedisServer } from './helpers.js';

const server = useRedisServer();

runEngineFaultTests(
  'RedisUpdateLog',
  async () => {
    const redis = connectTo(server());
    return {
      log: new RedisUpdateLog({ redis, prefix: uniquePrefix('faults') }),
      teardown: async () => {
        await redis.quit();
      },
    };
  },
  { runs: 20 },
);
