/**
 * @ystate/react — React hooks over live ystate documents in the browser: the core's StateDocument
 * over a Y.Doc, synced by the stock y-websocket provider. `useYState(docId, pointer)` gives the
 * value at a JSON Pointer and re-renders only when that subtree changes; `usePresence` shows who is
 * here; `useConnectionStatus` tells whether the connection is up. Nothing touches `window` at import
 * or during server rendering. Optional offline persistence with y-indexeddb (`offline`).
 */

export type { YStateProviderProps } from './provider.js';
export { YStateProvider } from './provider.js';
export type { ConnectionState, ConnectionStatus, OfflineStore, RoomOptions } from './room.js';
export { useConnectionStatus } from './use-connection-status.js';
export type { Peer, Presence, PresenceUser } from './use-presence.js';
export { usePresence } from './use-presence.js';
export type { YStateBinding } from './use-ystate.js';
export { useYState } from './use-ystate.js';
