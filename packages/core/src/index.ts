/**
 * @ystate/core — the isomorphic heart of ystate: Yjs documents whose JSON view is addressed by
 * JSON Pointers, exact JSON Patch out of every transaction, JSON Patch in as one all-or-nothing
 * transaction (optionally at the version its author saw), path subscriptions, and the registry
 * that opens and evicts documents. Depends on yjs and lib0 only; runs in browsers too.
 */

export type { DeliveryFailure, DeliveryStatus, DeliveryStore } from './delivery-store.js';
export { MemoryDeliveryStore } from './delivery-store.js';
export type { RootSummary, YType } from './document-roots.js';
export {
  describeRoots,
  documentJson,
  formatRoots,
  ROOTS_KEY,
  shownRoots,
  textDeltaAt,
  typedRoot,
} from './document-roots.js';
export type { EngineOptions, PatchWriteOptions, WriteOptions } from './engine.js';
export { Engine } from './engine.js';
export type { YStateErrorOptions } from './errors.js';
export {
  closeCodeOf,
  ErrorCode,
  httpStatusOf,
  isRetryable,
  isYStateError,
  toYStateError,
  YStateError,
} from './errors.js';
export type { Granularity, GranularityRule } from './granularity.js';
export { granularityFor } from './granularity.js';
export type { HistoricalState, HistoryPoint, ReplayStep } from './history.js';
export { applyEntries, buildCheckpoint, LogOrigin, loadInto, replay, seqAtTime, stateAt } from './history.js';
export type { ImportDocumentOptions, ImportResult } from './import-document.js';
export { importDocument, verifyImport } from './import-document.js';
export type { Json, JsonArray, JsonObject, JsonPrimitive } from './json.js';
export { assertJson, cloneJson, hasLoneSurrogate, isPlainObject, jsonEqual, MAX_DEPTH } from './json.js';
export { diffJson } from './json-diff.js';
export { assertJsonForm } from './json-form.js';
export type {
  AddOperation,
  CopyOperation,
  JsonPatch,
  MoveOperation,
  PatchOperation,
  RemoveOperation,
  ReplaceOperation,
  TestOperation,
} from './json-patch.js';
export { parsePatch } from './json-patch.js';
export type { LifecycleEvent, RecordedLifecycleEvent } from './lifecycle.js';
export {
  decodeLifecyclePayload,
  encodeLifecyclePayload,
  LifecycleStatus,
  parseLifecycleEvent,
} from './lifecycle.js';
export type { ItemWidth } from './list-positions.js';
export { ListPositions } from './list-positions.js';
export type { DurableUpdateListener, LifecycleFilter, LifecycleListener } from './live-document.js';
export type { EntryInput, EntryKind, LogEntry } from './log-entry.js';
export {
  assertRangeBound,
  assertStorableEntry,
  copyEntry,
  decodeEntry,
  ENTRY_FORMAT_VERSION,
  EntryFlags,
  encodeEntry,
} from './log-entry.js';
export type { LogRedaction } from './log-redaction.js';
export { logRedaction, redactRequestUrl } from './log-redaction.js';
export type { MemorySyncBusOptions } from './memory-bus.js';
export { MemorySyncBus } from './memory-bus.js';
export { MemoryUpdateLog } from './memory-log.js';
export type { PathPattern } from './path-pattern.js';
export { compilePattern } from './path-pattern.js';
export type { PathSegments } from './pointer.js';
export { formatPointer, parsePointer } from './pointer.js';
export type { RegistryEvents, RegistryOptions } from './registry.js';
export { DocumentRegistry } from './registry.js';
export type { Reverted } from './revert.js';
export { planRevert, revert } from './revert.js';
export { SeqTracker } from './seq-tracker.js';
export type {
  BaseVersion,
  Change,
  ChangeListener,
  DocumentWriter,
  PatchOptions,
  StateDocumentOptions,
  WriteTarget,
} from './state-document.js';
export { ROOT_MAP, StateDocument } from './state-document.js';
export type { AnyEvent, Segment } from './transaction-patch.js';
export { patchOfEvents, patchOfTransaction } from './transaction-patch.js';
export type { Undone, UndoSelection } from './undo.js';
export { selectionRange, undo } from './undo.js';
export type { DecodedUpdate } from './update-check.js';
export { addsNothing, assertUpdate } from './update-check.js';
export type { AppendBatch, BusListener, SeqRange, SignalListener, SyncBus, UpdateLog } from './update-log.js';
export type { PrunePoint } from './version-pins.js';
export { pinVersions, prunePoint } from './version-pins.js';
export type {
  NamedVersion,
  VersionDiff,
  VersionHost,
  VersionPoint,
  VersionWriteOptions,
} from './versions.js';
export {
  assertVersionName,
  deleteVersion,
  diffVersions,
  findVersion,
  listVersions,
  nameVersion,
  parseVersionPoint,
  VersionLifecycle,
  versionState,
} from './versions.js';
export type { Writable, YValue } from './y-value.js';
export {
  CollaborativeText,
  collaborativeText,
  FRAGMENT_TYPE,
  textDelta,
  toJsonValue,
  toYValue,
} from './y-value.js';
