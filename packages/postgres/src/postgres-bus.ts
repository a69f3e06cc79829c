/**
 * `PostgresSyncBus`: entries between nodes over LISTEN/NOTIFY. Each document has its own channel
 * (a hash of the store and the docId, see `channelName`), listened to on the node's one LISTEN
 * connection while the document has subscribers. A notification carries the entries themselves
 * when they fit (NOTIFY payloads are shorter than 8000 bytes), else a reference: a seq range that
 * receivers read from the entries table, or a `spill` row holding the message. Deliveries of one
 * document keep notification order even when some must be read first. Signals (ephemeral
 * messages such as awareness) travel the same way on a second channel per document.
 */

import {
  type BusListener,
  EntryFlags,
  ErrorCode,
  type LogEntry,
  type SignalListener,
  type SyncBus,
  YStateError,
} from '@ystate/core';
import { type CodecOptions, decodePayload, encodePayload } from '@ystate/core/codecs';
import type { Client, Pool } from 'pg';
import { storeError } from './errors.js';
import { NotificationListener } from './listener.js';
import { type ChannelKind, channelName, type StoreTables, statementName, storeTables } from './names.js';
import {
  DEFAULT_MAX_NOTIFY_BYTES,
  type EntriesMessage,
  entriesPayload,
  parseEntriesPayload,
  parseSignalBody,
  parseSignalPayload,
  signalBody,
} from './notification.js';
import { ENTRY_COLUMNS, type EntryRow, entryOfRow } from './rows.js';

/** Options of `new PostgresSyncBus(options)`. */
export interface PostgresSyncBusOptions {
  /** Publishes and reads referenced rows through this pool. */
  pool: Pool;
  /** Makes the dedicated LISTEN connection (and a new one after it drops). */
  createListenClient: () => Client;
  /** Same as the log's (default `public`). */
  schema?: string;
  /** Same as the log's (default `ystate_`). */
  tablePrefix?: string;
  /** The log's codecs: payloads arrive as stored (compressed, encrypted) and are decoded here. */
  codecs?: CodecOptions;
  /** Largest NOTIFY payload sent inline; larger messages go through the spill table (default 7,800). */
  maxNotifyBytes?: number;
  /** Failures with no caller: a dropped LISTEN connection, unreadable notifications, listener errors. */
  onError?: (error: unknown, context: string) => void;
  /** Reconnect backoff and liveness pings of the LISTEN connection. */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  pingIntervalMs?: number;
}

const CODEC_FLAGS = EntryFlags.compressed | EntryFlags.encrypted;
/** Spilled messages older than this are deleted by the next spill: receivers read them at once. */
const SPILL_TTL = '60 seconds';

interface Subscribed<L> {
  readonly docId: string;
  readonly channel: string;
  readonly listeners: Set<{ readonly listener: L }>;
  /** Settles once the channel is listened to. */
  readonly ready: Promise<void>;
  /** Deliveries in notification order, including those that read rows first. */
  chain: Promise<void>;
}

/** A `SyncBus` on PostgreSQL LISTEN/NOTIFY. */
export class PostgresSyncBus implements SyncBus {
  readonly tables: StoreTables;
  /** This bus's id in signal payloads, so that it skips its own signals. */
  readonly senderId = Math.random().toString(36).slice(2, 12);
  private readonly pool: Pool;
  private readonly codecs: CodecOptions | undefined;
  private readonly maxNotifyBytes: number;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly listener: NotificationListener;
  private readonly entries = new Map<string, Subscribed<BusListener>>();
  private readonly signals = new Map<string, Subscribed<SignalListener>>();
  /** Channel name → subscription, for both kinds. */
  private readonly byChannel = new Map<string, Subscribed<BusListener> | Subscribed<SignalListener>>();
  private readonly reconnectListeners = new Set<() => void>();
  private closed = false;

  /** A bus publishing through `options.pool` and listening on its own connection. */
  constructor(options: PostgresSyncBusOptions) {
    this.tables = storeTables(options.schema, options.tablePrefix);
    this.pool = options.pool;
    this.codecs = options.codecs;
    const max = options.maxNotifyBytes ?? DEFAULT_MAX_NOTIFY_BYTES;
    if (!Number.isSafeInteger(max) || max < 0 || max > 7999) {
      throw new YStateError({
        code: ErrorCode.INVALID_CONFIG,
        message: `invalid PostgreSQL store options: maxNotifyBytes must be an integer from 0 to 7999, got ${max}`,
      });
    }
    this.maxNotifyBytes = max;
    this.onError = options.onError ?? (() => undefined);
    const listenerOptions: ConstructorParameters<typeof NotificationListener>[0] = {
      createClient: options.createListenClient,
    };
    if (options.minReconnectDelayMs !== undefined)
      listenerOptions.minReconnectDelayMs = options.minReconnectDelayMs;
    if (options.maxReconnectDelayMs !== undefined)
      listenerOptions.maxReconnectDelayMs = options.maxReconnectDelayMs;
    if (options.pingIntervalMs !== undefined) listenerOptions.pingIntervalMs = options.pingIntervalMs;
    this.listener = new NotificationListener(listenerOptions, {
      notification: (channel, payload) => this.receive(channel, payload),
      reconnected: () => {
        for (const listener of [...this.reconnectListeners]) {
          try {
            listener();
          } catch (error) {
            this.onError(error, 'reconnect listener');
          }
        }
      },
      error: (error, context) => this.onError(error, context),
    });
  }

  /** True while the LISTEN connection is up (for health checks). */
  get listening(): boolean {
    return this.listener.connected;
  }

  /**
   * Publishes entries to every subscriber of the document, on every node (this one included).
   * The PostgreSQL log's appends notify by themselves; this is for entries appended elsewhere.
   */
  async publish(docId: string, entries: readonly LogEntry[]): Promise<void> {
    this.assertOpen();
    if (entries.length === 0) return;
    const codecs = this.codecs;
    const payload = entriesPayload(
      entries.map((entry) =>
        codecs && (entry.flags & CODEC_FLAGS) === 0 ? encodePayload(entry, codecs) : entry,
      ),
    );
    await this.notify('entries', docId, '', payload, `publishing to "${docId}"`);
  }

  async subscribe(docId: string, listener: BusListener): Promise<() => Promise<void>> {
    return this.add(this.entries, 'entries', docId, listener);
  }

  /** Sends an ephemeral message to the other nodes' signal listeners of the document (not to this bus's). */
  async signal(docId: string, message: Uint8Array): Promise<void> {
    this.assertOpen();
    await this.notify('signals', docId, `${this.senderId}:`, signalBody(message), `signalling "${docId}"`);
  }

  async onSignal(docId: string, listener: SignalListener): Promise<() => Promise<void>> {
    return this.add(this.signals, 'signals', docId, listener);
  }

  onReconnect(listener: () => void): () => void {
    const wrapped = () => listener();
    this.reconnectListeners.add(wrapped);
    return () => {
      this.reconnectListeners.delete(wrapped);
    };
  }

  /** Drops every subscription and the LISTEN connection. The pool stays open: it belongs to the caller. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscribed of this.byChannel.values()) subscribed.listeners.clear();
    this.entries.clear();
    this.signals.clear();
    this.byChannel.clear();
    this.reconnectListeners.clear();
    await this.listener.close();
  }

  /** Adds a listener of a document's channel, listening to the channel for the first one. */
  private async add<L>(
    map: Map<string, Subscribed<L>>,
    kind: ChannelKind,
    docId: string,
    listener: L,
  ): Promise<() => Promise<void>> {
    this.assertOpen();
    if (typeof docId !== 'string') {
      throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'subscribe: docId must be a string' });
    }
    let subscribed = map.get(docId);
    if (subscribed === undefined) {
      const channel = channelName(this.tables, kind, docId);
      const ready = this.listener.listen(channel);
      // Awaited below; a failure is reported to the subscriber that awaits it.
      ready.catch(() => undefined);
      subscribed = { docId, channel, listeners: new Set(), ready, chain: Promise.resolve() };
      map.set(docId, subscribed);
      this.byChannel.set(channel, subscribed as Subscribed<BusListener> | Subscribed<SignalListener>);
    }
    const entry = { listener };
    subscribed.listeners.add(entry);
    const remove = async (): Promise<void> => {
      const current = subscribed as Subscribed<L>;
      if (!current.listeners.delete(entry) || current.listeners.size > 0) return;
      if (map.get(docId) !== current) return;
      map.delete(docId);
      this.byChannel.delete(current.channel);
      await this.listener.unlisten(current.channel);
    };
    try {
      await subscribed.ready;
    } catch (cause) {
      await remove();
      throw storeError(cause, `subscribing to "${docId}"`);
    }
    return remove;
  }

  /** Sends a payload on a document's channel, inline when it fits, else through the spill table. */
  private async notify(
    kind: ChannelKind,
    docId: string,
    prefix: string,
    body: string,
    what: string,
  ): Promise<void> {
    const channel = channelName(this.tables, kind, docId);
    try {
      // Nothing here needs to survive a crash, so no commit waits for a WAL flush while it holds
      // NOTIFY's cluster-wide commit lock (docs/postgres.md); it matters for the spill's INSERT.
      if (prefix.length + body.length <= this.maxNotifyBytes) {
        await this.pool.query({
          name: statementName(this.tables, 'notify'),
          text: `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`,
          values: [channel, prefix + body],
        });
      } else {
        await this.pool.query({
          name: statementName(this.tables, 'spill'),
          text: `WITH expired AS (DELETE FROM ${this.tables.spill} WHERE created_at < now() - interval '${SPILL_TTL}'),
                 spilled AS (INSERT INTO ${this.tables.spill} (body) VALUES ($2) RETURNING id)
                 SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $3 || 's:' || id) FROM spilled`,
          values: [channel, body, prefix],
        });
      }
    } catch (cause) {
      throw storeError(cause, what);
    }
  }

  private receive(channel: string, payload: string): void {
    const subscribed = this.byChannel.get(channel);
    if (subscribed === undefined) return;
    if (this.entries.get(subscribed.docId) === subscribed) {
      this.receiveEntries(subscribed as Subscribed<BusListener>, payload);
    } else {
      this.receiveSignal(subscribed as Subscribed<SignalListener>, payload);
    }
  }

  private receiveEntries(subscribed: Subscribed<BusListener>, payload: string): void {
    let message: EntriesMessage;
    try {
      message = parseEntriesPayload(payload);
    } catch (error) {
      // Receivers fill the gap from the log when the next entry arrives.
      this.onError(error, `notification for "${subscribed.docId}"`);
      return;
    }
    subscribed.chain = subscribed.chain
      .then(async () => {
        let entries = await this.resolve(subscribed.docId, message);
        const codecs = this.codecs;
        if (codecs) entries = entries.map((entry) => decodePayload(entry, codecs));
        if (entries.length > 0) this.deliver(subscribed, entries);
      })
      .catch((error) => this.onError(error, `notification for "${subscribed.docId}"`));
  }

  /** The entries a message stands for: carried inline, or read by reference. */
  private async resolve(docId: string, message: EntriesMessage): Promise<LogEntry[]> {
    switch (message.type) {
      case 'entries':
        return message.entries;
      case 'range': {
        const { rows } = await this.pool.query<EntryRow>({
          name: statementName(this.tables, 'bus_range'),
          text: `SELECT ${ENTRY_COLUMNS} FROM ${this.tables.entries}
                 WHERE doc_id = $1 AND seq >= $2::bigint AND seq <= $3::bigint ORDER BY seq`,
          values: [docId, String(message.from), String(message.to)],
        });
        return rows.map(entryOfRow);
      }
      case 'spilled': {
        const body = await this.spilled(message.id);
        if (body === undefined) return [];
        const inner = parseEntriesPayload(body, true);
        return inner.type === 'spilled' ? [] : this.resolve(docId, inner);
      }
    }
  }

  private async spilled(id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ body: string }>({
      name: statementName(this.tables, 'spilled'),
      text: `SELECT body FROM ${this.tables.spill} WHERE id = $1::bigint`,
      values: [id],
    });
    const body = rows[0]?.body;
    if (body === undefined)
      this.onError(new Error(`spilled message ${id} expired before it was read`), 'spill');
    return body;
  }

  private receiveSignal(subscribed: Subscribed<SignalListener>, payload: string): void {
    let parsed: ReturnType<typeof parseSignalPayload>;
    try {
      parsed = parseSignalPayload(payload);
    } catch (error) {
      this.onError(error, `signal for "${subscribed.docId}"`);
      return;
    }
    if (parsed.sender === this.senderId) return;
    subscribed.chain = subscribed.chain
      .then(async () => {
        let message: Uint8Array;
        if (parsed.type === 'signal') {
          message = parsed.message;
        } else {
          const body = await this.spilled(parsed.id);
          if (body === undefined) return;
          message = parseSignalBody(body);
        }
        for (const { listener } of [...subscribed.listeners]) {
          try {
            // Each listener gets its own copy, so one cannot change what another sees.
            listener(new Uint8Array(message));
          } catch (error) {
            this.onError(error, `signal listener of "${subscribed.docId}"`);
          }
        }
      })
      .catch((error) => this.onError(error, `signal for "${subscribed.docId}"`));
  }

  private deliver(subscribed: Subscribed<BusListener>, entries: readonly LogEntry[]): void {
    const targets = [...subscribed.listeners];
    for (const target of targets) {
      // Unsubscribed by an earlier listener of this delivery: nothing more arrives.
      if (!subscribed.listeners.has(target)) continue;
      try {
        // Each listener gets its own copies, so one cannot change what another sees.
        target.listener(targets.length === 1 ? entries : entries.map(copy));
      } catch (error) {
        this.onError(error, `listener of "${subscribed.docId}"`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_CLOSED,
        message: 'the PostgreSQL sync bus is closed',
      });
    }
  }
}

function copy(entry: LogEntry): LogEntry {
  return { ...entry, payload: new Uint8Array(entry.payload) };
}
