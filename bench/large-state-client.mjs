/**
 * A raw y-websocket protocol client for large documents (the large-state scenario): like
 * `SyncClient` (sync-client.mjs), it keeps no `Y.Doc` and finds markers (`~M<writer>.<n>~`) in what
 * it receives, but:
 * - it opens its socket with no `maxPayload` bound (`ws` refuses messages over 100 MiB by default,
 *   and a 100 MB JSON state is a larger Yjs update);
 * - it starts with sync step 1 carrying a given state vector: a client that already holds the
 *   state (from its own cache) and asks the server only for what it lacks — so connecting does not
 *   move the whole document, which the scenario does not measure;
 * - it answers the server's step 1 with an empty update (it never writes through step 2).
 * Only the y-websocket dialect (ystate and the y-websocket reference server).
 */

import { performance } from 'node:perf_hooks';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { markersIn } from './sync-client.mjs';

const MESSAGE_SYNC = 0;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());

function syncMessage(syncType, payload) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, syncType);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

/** One connection to a document, for clients that hold (or claim) its state already. */
export class LargeStateClient {
  /** Resolves once the server's sync step 2 has arrived. */
  synced;
  /** Called with each marker received and the `performance.now()` of its arrival. */
  onMarker = undefined;
  /** Messages and bytes received. */
  received = { messages: 0, bytes: 0 };

  #ws;
  #stateVector;
  #resolveSynced;

  /** Opens a socket to `server` (`{ url }`) for `docId`, claiming the state `stateVector` describes. */
  constructor(server, docId, { stateVector }) {
    this.#stateVector = stateVector;
    this.#ws = new WebSocket(`${server.url}/${encodeURIComponent(docId)}`, {
      perMessageDeflate: false,
      maxPayload: 0,
    });
    this.#ws.binaryType = 'nodebuffer';
    this.synced = new Promise((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#ws.once('error', reject);
      this.#ws.once('close', (code) => reject(new Error(`closed with ${code} before syncing`)));
    });
    this.synced.catch(() => {});
    this.closed = new Promise((resolve) => this.#ws.once('close', (code) => resolve(code)));
    this.#ws.on('error', () => {});
    this.#ws.on('open', () => this.#ws.send(syncMessage(SYNC_STEP1, this.#stateVector)));
    this.#ws.on('message', (data) => this.#receive(data));
  }

  /** Sends a Yjs update (a sync `update` message). */
  sendUpdate(update) {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(syncMessage(SYNC_UPDATE, update));
  }

  /** Closes the socket (1000) and resolves once it has closed. */
  close() {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(1000);
    }
    return this.closed;
  }

  #receive(data) {
    const at = performance.now();
    this.received.messages++;
    this.received.bytes += data.byteLength;
    const decoder = decoding.createDecoder(data);
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
    const syncType = decoding.readVarUint(decoder);
    if (syncType === SYNC_STEP1) {
      this.#ws.send(syncMessage(SYNC_STEP2, EMPTY_UPDATE));
      return;
    }
    if (syncType === SYNC_STEP2) this.#resolveSynced();
    if (this.onMarker) {
      for (const marker of markersIn(data)) this.onMarker(marker, at);
    }
  }
}
