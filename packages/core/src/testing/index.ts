/**
 * @ystate/core/testing — the acceptance suites every `UpdateLog` and `SyncBus` implementation runs
 * under Vitest, so memory, file, Redis and PostgreSQL keep one contract; and waiting helpers for
 * tests that must not sleep; the engine fault suite every store runs; `fuzzRuns`, the number of
 * cases of a long property test. Needs `vitest`,
 * `fast-check` and `fast-json-patch` installed (optional peer dependencies of @ystate/core).
 */

export type { DeliveryStoreSetup, DeliveryStoreTestContext } from './delivery-store-suite.js';
export { runDeliveryStoreTests } from './delivery-store-suite.js';
export type { EngineFaultContext, EngineFaultSetup, Fault } from './engine-fault-suite.js';
export { FaultyLog, runEngineFaultTests } from './engine-fault-suite.js';
export { fuzzRuns } from './fuzz-runs.js';
export { hostileJsonText, hostileKey, pointerSegment } from './hostile-json.js';
export type { SyncBusSetup, SyncBusTestContext } from './sync-bus-suite.js';
export { runSyncBusTests } from './sync-bus-suite.js';
export type { UpdateLogSetup, UpdateLogTestContext } from './update-log-suite.js';
export { runUpdateLogTests } from './update-log-suite.js';
export { eventually, within } from './waiting.js';
