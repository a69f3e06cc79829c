/**
 * @ystate/client — a small, dependency-free client of a ystate server for browsers and Node: read
 * state (`path`, `at`) and history, write JSON Patch with an automatic `If-Match` (the seq of the
 * state the caller last saw), and follow a document or a subtree live over SSE, reconnecting by
 * itself and resuming from the last seq it saw with nothing lost or applied twice.
 */

export type { ClientOptions, HistoryEntry, PatchOptions, StateRead } from './client.js';
export { createClient, YStateClient } from './client.js';
export type { ClientErrorCode, ServerErrorCode, YStateClientErrorCode } from './errors.js';
export { isYStateClientError, YStateClientError } from './errors.js';
export type { Json, PatchOperation } from './json.js';
export { applyPatch } from './json-patch.js';
export type { SseMessage } from './sse.js';
export { readEvents, SseParser } from './sse.js';
export type { ConnectionStatus, StateChange, SubscribeOptions } from './subscription.js';
export { Subscription } from './subscription.js';
export type { TokenSource } from './token.js';
