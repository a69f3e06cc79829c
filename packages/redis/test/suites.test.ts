import { runDeliveryStoreTests, runSyncBusTests, runUpdateLogTests } from '@ystate/core/testing';
import { RedisDeliveryStore, RedisSyncBus, RedisUpdateLog } from '../src/index.js';
import { connectTo, connectToCluster, uniquePrefix, useCluster, useRedisServer } from './helpers.js';

const server = useRedisServer();
const cluster = useCluster(3);

runUpdateLogTests('RedisUpdateLog', async () => {
  const prefix = uniquePrefix('log');
  const redis = connectTo(server());
  const reopened: ReturnType<typeof connectTo>[] = [];
  return {
    log: new RedisUpdateLog({ redis, prefix }),
    reopen: async () => {
      const again = connectTo(server());
      reopened.push(again);
      return new RedisUpdateLog({ redis: again, prefix });
    },
    teardown: async () => {
      for (const connection of [redis, ...reopened]) await connection.quit();
    },
  };
});

runUpdateLogTests('RedisUpdateLog (small read pages)', async () => {
  const redis = connectTo(server());
  return {
    log: new RedisUpdateLog({ redis, prefix: uniquePrefix('paged'), readPageSize: 2 }),
    teardown: async () => {
      await redis.quit();
    },
  };
});

runUpdateLogTests('RedisUpdateLog on a 3-master Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster');
  const redis = connectToCluster(cluster());
  const reopened: ReturnType<typeof connectToCluster>[] = [];
  return {
    log: new RedisUpdateLog({ redis, prefix }),
    reopen: async () => {
      const again = connectToCluster(cluster());
      reopened.push(again);
      return new RedisUpdateLog({ redis: again, prefix });
    },
    teardown: async () => {
      for (const connection of [redis, ...reopened]) await connection.quit();
    },
  };
});

runSyncBusTests('RedisSyncBus', async () => {
  const prefix = uniquePrefix('bus');
  const connections = [connectTo(server()), connectTo(server())];
  const [a, b] = connections.map((redis) => new RedisSyncBus({ redis, prefix })) as [
    RedisSyncBus,
    RedisSyncBus,
  ];
  return {
    buses: [a, b],
    teardown: async () => {
      for (const connection of connections) await connection.quit();
    },
  };
});

runSyncBusTests('RedisSyncBus on a 3-master Redis Cluster (sharded Pub/Sub)', async () => {
  const prefix = uniquePrefix('sbus');
  const connections = [connectToCluster(cluster()), connectToCluster(cluster())];
  const [a, b] = connections.map((redis) => new RedisSyncBus({ redis, prefix })) as [
    RedisSyncBus,
    RedisSyncBus,
  ];
  return {
    buses: [a, b],
    teardown: async () => {
      for (const connection of connections) await connection.quit();
    },
  };
});

runDeliveryStoreTests('RedisDeliveryStore (two nodes)', async () => {
  const prefix = uniquePrefix('delivery');
  const [one, two] = [connectTo(server()), connectTo(server())];
  const reopened: ReturnType<typeof connectTo>[] = [];
  return {
    stores: [new RedisDeliveryStore({ redis: one, prefix }), new RedisDeliveryStore({ redis: two, prefix })],
    reopen: async () => {
      const again = connectTo(server());
      reopened.push(again);
      return new RedisDeliveryStore({ redis: again, prefix });
    },
    teardown: async () => {
      for (const connection of [one, two, ...reopened]) await connection.quit();
    },
  };
});

runDeliveryStoreTests('RedisDeliveryStore on a 3-master Redis Cluster', async () => {
  const prefix = uniquePrefix('delivery-cluster');
  const redis = connectToCluster(cluster());
  return {
    stores: [new RedisDeliveryStore({ redis, prefix })],
    teardown: async () => {
      await redis.quit();
    },
  };
});
