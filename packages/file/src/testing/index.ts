/**
 * @ystate/file/testing — fault injection for tests of code that runs on the file store: pass an
 * `IoFaults` as `openFileLog({ ioHooks })` and make the next write or fdatasync of a document fail.
 */

export type { FaultOptions } from './io-faults.js';
export { IoFaults, ioError } from './io-faults.js';
