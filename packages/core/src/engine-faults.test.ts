import { MemoryUpdateLog } from './memory-log.js';
import { runEngineFaultTests } from './testing/engine-fault-suite.js';

runEngineFaultTests('MemoryUpdateLog', async () => ({ log: new MemoryUpdateLog() }), { runs: 100 });
