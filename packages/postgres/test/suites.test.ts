import { runDeliveryStoreTests, runSyncBusTests, runUpdateLogTests } from '@ystate/core/testing';
import type { PostgresStore, PostgresStoreOptions } from '../src/index.js';
import { storeFactory, uniqueSchema, usePostgres } from './helpers.js';

const postgres = usePostgres();
const openStore = storeFactory(postgres);

/** The log of a fresh schema, and `reopen` on the same schema through a new pool. */
function logSetup(name: string, options: PostgresStoreOptions = {}) {
  runUpdateLogTests(name, async () => {
    const settings = { ...options, schema: uniqueSchema('log'), pool: { max: 4 } };
    const stores: PostgresStore[] = [await openStore(settings)];
    return {
      log: stores[0]!.log,
      reopen: async () => {
        const again = await openStore(settings);
        stores.push(again);
        return again.log;
      },
      teardown: async () => {
        for (const store of stores) await store.close();
      },
    };
  });
}

logSetup('PostgresUpdateLog');
// Pages of two rows exercise paged reads; appends then notify by reference only.
logSetup('PostgresUpdateLog (pages of 2 rows, references only)', { readPageSize: 2, maxNotifyBytes: 0 });

runSyncBusTests('PostgresSyncBus', async () => {
  const schema = uniqueSchema('bus');
  const a = await openStore({ schema, pool: { max: 2 } });
  const b = await openStore({ schema, pool: { max: 2 } });
  return {
    buses: [a.bus, b.bus],
    teardown: async () => {
      await a.close();
      await b.close();
    },
  };
});

runDeliveryStoreTests('PostgresDeliveryStore (two nodes)', async () => {
  const schema = uniqueSchema('delivery');
  const stores: PostgresStore[] = [
    await openStore({ schema, pool: { max: 2 } }),
    await openStore({ schema, pool: { max: 2 } }),
  ];
  return {
    stores: [stores[0]!.deliveries, stores[1]!.deliveries],
    reopen: async () => {
      const again = await openStore({ schema, pool: { max: 2 } });
      stores.push(again);
      return again.deliveries;
    },
    teardown: async () => {
      for (const store of stores) await store.close();
    },
  };
});
