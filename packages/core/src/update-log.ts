/** The contracts every store implements: `UpdateLog` keeps entries durably, `SyncBus` moves them between nodes. */

import type { EntryInput, LogEntry } from './log-entry.js';

/** An inclusive range of sequence numbers; open ends mean "from the first" / "to the last". */
export interface SeqRange {
  from?: number;
  to?: number;
}

/** Entries for one document, appended atomically. */
export interface AppendBatch {
  docId: string;
  entries: readonly EntryInput[];
}

/** The append-only, per-document log of entries. Adapters store and move bytes; merging happens above them. */
export interface UpdateLog {
  /**
   * True when `append` also delivers the entries to the matching bus in the same atomic step
   * (Redis: one Lua script does INCR + RPUSH + PUBLISH); the engine then does not publish them again.
   */
  readonly publishesAppends?: boolean;
  /**
   * Appends entries to a document's log, in order and atomically: all of them are stored or none
   * is. Resolves, once they are durable, with the entries as stored: dense sequence numbers
   * following the last one in the log. A rejection is a `YStateError` whose code says whether it
   * may be retried (`isRetryable`): LOG_UNAVAILABLE when the store could not be reached (the
   * outcome may be unknown: a retry may store the entries twice, which Yjs updates tolerate);
   * any other code when the store refused or failed, with nothing of the batch stored.
   */
  append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]>;
  /**
   * Optional: appends batches to several documents, sharing the expensive step between them (one
   * fdatasync, one round trip, one transaction). Each batch is atomic on its own (all of its
   * entries are stored, or none is) and its outcome is reported separately, in the order given.
   * Without it, the engine calls `append` once per document.
   */
  appendMany?(batches: readonly AppendBatch[]): Promise<PromiseSettledResult<LogEntry[]>[]>;
  /** The retained entries of a document whose seq lies in `range`, in seq order. */
  read(docId: string, range?: SeqRange): Promise<LogEntry[]>;
  /** The highest seq ever assigned in a document's log (0 when empty); pruning does not lower it. */
  head(docId: string): Promise<number>;
  /** The latest stored checkpoint whose seq is at most `atOrBefore` (default: any). */
  latestCheckpoint(docId: string, atOrBefore?: number): Promise<LogEntry | undefined>;
  /** Stores a checkpoint (kind `checkpoint`, seq = the last entry it covers) beside the log. */
  storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void>;
  /** Drops entries with seq below `seq` (and checkpoints made obsolete by a newer one at or below it). */
  prune(docId: string, seq: number): Promise<void>;
  /**
   * Optional: writes a document's history with its original seqs (entries may start after 1 when
   * the source was pruned) into a document that has none yet. Restoring from a backup uses it;
   * without it only history that starts at seq 1 can be restored (through `append`).
   */
  restore?(docId: string, entries: readonly LogEntry[], checkpoints: readonly LogEntry[]): Promise<void>;
  /** The ids of documents that have a log. */
  docIds(): Promise<string[]>;
  /** Flushes and releases resources. */
  close(): Promise<void>;
}

/** Receives entries of a subscribed document, with their sequence numbers. */
export type BusListener = (entries: readonly LogEntry[]) => void;

/** Receives an ephemeral message (such as y-websocket awareness) another node sent for a document. */
export type SignalListener = (message: Uint8Array) => void;

/** Broadcasts appended entries to other nodes. At-most-once: receivers fill gaps from the log by seq. */
export interface SyncBus {
  /** Sends entries of a document (already in the log) to every subscriber of that document. */
  publish(docId: string, entries: readonly LogEntry[]): Promise<void>;
  /** Starts delivering a document's entries to `listener`. Resolves, once subscribed, with a function that stops it. */
  subscribe(docId: string, listener: BusListener): Promise<() => Promise<void>>;
  /**
   * Sends an ephemeral message for a document to the other nodes: never logged, best effort
   * (y-websocket awareness travels this way). Optional: without it, ephemeral state stays per node.
   */
  signal?(docId: string, message: Uint8Array): Promise<void>;
  /** Receives other nodes' ephemeral messages for a document. Resolves with a function that stops it. */
  onSignal?(docId: string, listener: SignalListener): Promise<() => Promise<void>>;
  /**
   * Calls `listener` whenever the bus reconnected after losing its connection, so subscribers can
   * read from the log whatever they missed meanwhile. Returns a function that stops it.
   */
  onReconnect?(listener: () => void): () => void;
  /** Unsubscribes everything and releases resources. */
  close(): Promise<void>;
}
