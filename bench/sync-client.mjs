/**
 * A lightweight protocol client for the many-client scenarios: a raw `ws` socket speaking the Yjs
 * sync protocol, so that a thousand clients cost the load generator little more than their sockets.
 *
 * Two dialects, one per kind of server measured:
 * - `y-websocket` (ystate and the y-websocket reference server): the document is the URL path,
 *   a message is `[type][...]`;
 * - `hocuspocus`: one socket may carry several documents, so every message starts with the
 *   document name, and the server holds a document's messages until the client has sent an auth
 *   message for it (what `@hocuspocus/provider` sends first, with an empty token when it has none).
 *
 * A client keeps no `Y.Doc` of its own. It answers the server's sync step 1 with what the server
 * lacks of the `doc` it was given (as a reconnecting client would), or with an empty step 2, counts as
 * synced when the server's step 2 arrives, and finds **markers** in what it receives: a writer
 * (see `MarkerWriter`) puts `~M<writer>.<n>~` in each update as a string value, which Yjs encodes
 * verbatim, so a receiver can tell which update arrived without decoding Yjs (a native
 * `Buffer.indexOf`). A server that merges several updates into one message still delivers every
 * marker.
 */

import { performance } from 'node:perf_hooks';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AUTH = 2;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
/** Hocuspocus's auth sub-message a client sends: a token. */
const AUTH_TOKEN = 0;
/** The state vector and the update of an empty document. */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());

const MARK_START = Buffer.from('~M');
const MARK_END = 0x7e; // '~'

/** The markers (`"<writer>.<n>"`) in `data`, in the order they appear. */
export function markersIn(data) {
  const found = [];
  for (let at = data.indexOf(MARK_START); at !== -1; at = data.indexOf(MARK_START, at + 2)) {
    const end = data.indexOf(MARK_END, at + 2);
    if (end === -1) break;
    found.push(data.toString('latin1', at + 2, end));
  }
  return found;
}

/**
 * Writes updates that carry markers: a `Y.Doc` of its own whose `bench` map key `<writer>` is set
 * to `~M<writer>.<n>~` (plus optional padding) for the n-th update. Each update is what a Yjs
 * client sends for one edit. The key is the writer's own: concurrent sets of one key are resolved
 * by the server's Y.Doc, and a set that loses is deleted as it is integrated, so what the server
 * broadcasts would no longer carry its marker; each set of a writer's own key follows its previous
 * one and wins.
 */
export class MarkerWriter {
  #doc = new Y.Doc();
  #map = this.#doc.getMap('bench');
  #count = 0;

  constructor(writerId, { padding = 0 } = {}) {
    this.writerId = String(writerId);
    this.padding = padding > 0 ? 'x'.repeat(padding) : '';
  }

  /** The next update and its marker. */
  next() {
    const marker = `${this.writerId}.${this.#count++}`;
    let update;
    const capture = (u) => {
      update = u;
    };
    this.#doc.once('update', capture);
    this.#map.set(this.writerId, `~M${marker}~${this.padding}`);
    return { marker, update };
  }
}

function writeSync(encoder, syncType, payload) {
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, syncType);
  encoding.writeVarUint8Array(encoder, payload);
}

/** One document's connection (one socket) to a y-websocket or Hocuspocus server. */
export class SyncClient {
  /** Resolves once the server's sync step 2 has arrived. */
  synced;
  /** Resolves with the close code once the socket has closed. */
  closed;
  /** Called with each marker received and the `performance.now()` of its arrival. */
  onMarker = undefined;
  /** Messages and bytes received. */
  received = { messages: 0, bytes: 0 };

  #ws;
  #docId;
  #hocuspocus;
  #resolveSynced;

  #doc;
  #stateVector;

  /**
   * Opens a socket to `server` (`{ url, dialect }`, from servers.mjs) for `docId`. The returned
   * client's `synced` resolves on the server's step 2; `opened` when the socket is open. With
   * `doc` (a `Y.Doc`, which several clients of one document may share), the server's step 1 is
   * answered with the part of `doc` it lacks; the client never applies what it receives to `doc`.
   * With `stateVector`, the client's step 1 claims that state (a client holding the document from
   * its own cache), so the server sends only what it lacks; by default it claims nothing.
   */
  constructor(server, docId, { doc, stateVector = EMPTY_STATE_VECTOR } = {}) {
    this.#docId = docId;
    this.#doc = doc;
    this.#stateVector = stateVector;
    this.#hocuspocus = server.dialect === 'hocuspocus';
    const url = this.#hocuspocus ? server.url : `${server.url}/${encodeURIComponent(docId)}`;
    // No bound on what the server may send: `ws` refuses messages over 100 MiB by default, and
    // a large document's state (bench/large-state.mjs: 100 MB of JSON) is a larger update.
    this.#ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
    this.#ws.binaryType = 'nodebuffer';
    this.synced = new Promise((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#ws.once('error', reject);
      this.#ws.once('close', (code) => reject(new Error(`closed with ${code} before syncing`)));
    });
    this.synced.catch(() => {});
    this.opened = new Promise((resolve, reject) => {
      this.#ws.once('open', resolve);
      this.#ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.#ws.once('close', (code) => resolve(code)));
    this.#ws.on('error', () => {});
    this.#ws.on('open', () => this.#start());
    this.#ws.on('message', (data) => this.#receive(data));
  }

  /** Sends a Yjs update (as a sync `update` message). */
  sendUpdate(update) {
    this.#send((encoder) => writeSync(encoder, SYNC_UPDATE, update));
  }

  /** Closes the socket (1000) and resolves once it has closed. */
  close() {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(1000);
    }
    return this.closed;
  }

  /** Drops the connection without a close handshake. */
  terminate() {
    this.#ws.terminate();
    return this.closed;
  }

  #start() {
    if (this.#hocuspocus) {
      this.#send((encoder) => {
        encoding.writeVarUint(encoder, MESSAGE_AUTH);
        encoding.writeVarUint(encoder, AUTH_TOKEN);
        encoding.writeVarString(encoder, '');
      });
    }
    this.#send((encoder) => writeSync(encoder, SYNC_STEP1, this.#stateVector));
  }

  #send(write) {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const encoder = encoding.createEncoder();
    if (this.#hocuspocus) encoding.writeVarString(encoder, this.#docId);
    write(encoder);
    this.#ws.send(encoding.toUint8Array(encoder));
  }

  #receive(data) {
    const at = performance.now();
    this.received.messages++;
    this.received.bytes += data.byteLength;
    const decoder = decoding.createDecoder(data);
    if (this.#hocuspocus) decoding.readVarString(decoder);
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
    const syncType = decoding.readVarUint(decoder);
    if (syncType === SYNC_STEP1) {
      const missing = this.#doc
        ? Y.encodeStateAsUpdate(this.#doc, decoding.readVarUint8Array(decoder))
        : EMPTY_UPDATE;
      this.#send((encoder) => writeSync(encoder, SYNC_STEP2, missing));
      return;
    }
    if (syncType === SYNC_STEP2) this.#resolveSynced();
    if (this.onMarker) {
      for (const marker of markersIn(data)) this.onMarker(marker, at);
    }
  }
}
