/**
 * One document open in the browser: a `StateDocument` over a `Y.Doc`, kept in sync with the server
 * by the stock `y-websocket` `WebsocketProvider`, with its connection status and the pointers being
 * watched. Rooms are shared by every hook of one `YStateProvider` that names the same document, and
 * closed a moment after the last one lets go (so that a remount, or React's strict-mode double
 * effects, reuse the connection instead of reconnecting).
 */

import { StateDocument } from '@ystate/core';
import { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';
import { PointerWatch } from './pointer-watch.js';

/** Where the connection is: `connecting` (or reconnecting), `connected`, or `disconnected`. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** The connection of one document: its state, and whether the first sync with the server is done. */
export interface ConnectionStatus {
  readonly state: ConnectionState;
  /** True once the document has been synced with the server (stays true across reconnections). */
  readonly synced: boolean;
}

/**
 * A store that keeps a `Y.Doc` in the browser, constructed as `new Store(name, ydoc)`:
 * y-indexeddb's `IndexeddbPersistence` (or anything with its shape).
 */
export type OfflineStore = new (
  name: string,
  ydoc: Y.Doc,
) => {
  /** Stops persisting the document (the data stays in the browser). */
  destroy(): unknown;
};

/** How rooms connect (the props of `YStateProvider`, minus children). */
export interface RoomOptions {
  /** The server's WebSocket URL, e.g. `ws://localhost:1234` (documents are `<url>/<docId>`). */
  url: string;
  /** A token for the server's auth (sent as `?token=`), or a function called at each (re)connection. */
  token?: string | (() => string);
  /** Extra query parameters of the WebSocket URL. */
  params?: Record<string, string>;
  /** A WebSocket implementation (Node, tests); the browser's by default. */
  WebSocketPolyfill?: unknown;
  /** Milliseconds a room stays open after its last user lets go (default 1000). */
  keepAliveMs?: number;
  /**
   * Keep each document in the browser too: pass y-indexeddb's `IndexeddbPersistence`. A page then
   * shows what it had before the server answers, and edits made offline survive a reload and
   * reach the server once it is back (stored per server URL and docId). Off by default.
   */
  offline?: OfflineStore;
}

/** A document open over y-websocket. */
export class Room {
  readonly doc: StateDocument;
  readonly provider: WebsocketProvider;
  private statusNow: ConnectionStatus = { state: 'connecting', synced: false };
  private readonly statusListeners = new Set<() => void>();
  private readonly watches = new Map<string, PointerWatch>();
  private readonly store: { destroy(): unknown } | undefined;

  constructor(
    readonly docId: string,
    private readonly options: RoomOptions,
  ) {
    this.doc = new StateDocument(docId);
    this.store =
      options.offline === undefined
        ? undefined
        : new options.offline(`ystate:${options.url}/${docId}`, this.doc.ydoc);
    this.provider = new WebsocketProvider(options.url, docId, this.doc.ydoc, {
      params: this.params(),
      // Each page (each provider) talks to the server; no cross-tab shortcut that bypasses it.
      disableBc: true,
      ...(options.WebSocketPolyfill === undefined
        ? {}
        : { WebSocketPolyfill: options.WebSocketPolyfill as typeof WebSocket }),
    });
    this.provider.on('status', ({ status }: { status: ConnectionState }) => {
      // A fresh token for the next reconnection.
      if (status !== 'connected' && typeof options.token === 'function') this.provider.params = this.params();
      this.setStatus({ state: status, synced: this.statusNow.synced });
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) this.setStatus({ state: this.statusNow.state, synced: true });
    });
  }

  /** The connection status; the same object until it changes. */
  get status(): ConnectionStatus {
    return this.statusNow;
  }

  /** Calls `listener` when the status changes; returns a function that stops it. */
  onStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** The watch of `pointer` (shared by every hook on it). */
  watch(pointer: string): PointerWatch {
    let watch = this.watches.get(pointer);
    if (watch === undefined) {
      watch = new PointerWatch(this.doc, pointer);
      this.watches.set(pointer, watch);
    }
    return watch;
  }

  /** Disconnects and releases the document. */
  destroy(): void {
    this.provider.destroy();
    // Closes the browser store; what it holds stays for the next visit.
    void Promise.resolve(this.store?.destroy()).catch(() => undefined);
    this.doc.destroy();
    this.statusListeners.clear();
    this.watches.clear();
  }

  private params(): Record<string, string> {
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    return { ...this.options.params, ...(token === undefined ? {} : { token }) };
  }

  private setStatus(status: ConnectionStatus): void {
    if (status.state === this.statusNow.state && status.synced === this.statusNow.synced) return;
    this.statusNow = status;
    for (const listener of [...this.statusListeners]) listener();
  }
}

/** The rooms of one `YStateProvider`, shared by reference count. */
export class Rooms {
  private readonly rooms = new Map<
    string,
    { room: Room; holders: number; closing?: ReturnType<typeof setTimeout> }
  >();

  constructor(readonly options: RoomOptions) {}

  /** Opens (or joins) the room of `docId`. Call `release` once done. */
  acquire(docId: string): Room {
    let entry = this.rooms.get(docId);
    if (entry === undefined) {
      entry = { room: new Room(docId, this.options), holders: 0 };
      this.rooms.set(docId, entry);
    }
    if (entry.closing !== undefined) {
      clearTimeout(entry.closing);
      delete entry.closing;
    }
    entry.holders++;
    return entry.room;
  }

  /** Lets go of a room; the last holder closes it after `keepAliveMs`. */
  release(docId: string): void {
    const entry = this.rooms.get(docId);
    if (entry === undefined || --entry.holders > 0) return;
    entry.closing = setTimeout(() => {
      if (entry.holders > 0) return;
      this.rooms.delete(docId);
      entry.room.destroy();
    }, this.options.keepAliveMs ?? 1000);
  }

  /** Closes every room at once. */
  destroy(): void {
    for (const { room, closing } of this.rooms.values()) {
      if (closing !== undefined) clearTimeout(closing);
      room.destroy();
    }
    this.rooms.clear();
  }
}
