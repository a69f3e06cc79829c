import { MemoryDeliveryStore } from './delivery-store.js';
import { runDeliveryStoreTests } from './testing/delivery-store-suite.js';

runDeliveryStoreTests('MemoryDeliveryStore', async () => ({ stores: [new MemoryDeliveryStore()] }));
