import { runEngineFaultTests } from '@ystate/core/testing';
import { storeFactory, uniqueSchema, usePostgres } from './helpers.js';

const postgres = usePostgres();
const openStore = storeFactory(postgres);

runEngineFaultTests(
  'PostgresUpdateLog',
  async () => {
    const store = await openStore({ schema: uniqueSchema('faults'), pool: { max: 4 } });
    return { log: store.log, teardown: () => store.close() };
  },
  { runs: 10 },
);
