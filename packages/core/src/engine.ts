/**
 * The engine: documents backed by an update log and kept in step across nodes by a bus. It opens
 * documents through a registry (loading them from the log), makes every change durable before it
 * is published, and answers history questions (state at a seq or time, replay).
 */

import type { Granularity, GranularityRule } from './granularity.js';
import { granularityFor } from './granularity.js';
import { GroupCommit } from './group-commit.js';
import {
  DEFAULT_CHUNK,
  type HistoricalState,
  type HistoryPoint,
  type ReplayStep,
  replay,
  stateAt,
} from './history.js';
import type { Json } from './json.js';
import { type LifecycleStatus, parseLifecycleEvent } from './lifecycle.js';
import {
  type DurableUpdateListener,
  type LifecycleFilter,
  type LifecycleListener,
  LiveDocument,
  type LiveDocumentContext,
} from './live-document.js';
import type { LogEntry } from './log-entry.js';
import { DocumentRegistry } from './registry.js';
import { type Reverted, revert } from './revert.js';
import type { Change, DocumentWriter, StateDocument } from './state-document.js';
import { type Undone, type UndoSelection, undo } from './undo.js';
import type { SyncBus, UpdateLog } from './update-log.js';
import { pinVersions } from './version-pins.js';
import {
  deleteVersion,
  diffVersions,
  listVersions,
  type NamedVersion,
  nameVersion,
  type VersionDiff,
  type VersionPoint,
  type VersionWriteOptions,
  versionState,
} from './versions.js';

/** How an `Engine` stores, shares and groups documents' changes. */
export interface EngineOptions {
  log: UpdateLog;
  /** Broadcasts entries to other nodes; without one, the engine serves a single node. */
  bus?: SyncBus;
  /** This node's id, recorded as the origin of changes with no origin of their own. */
  nodeId?: string;
  /** What is logged by default (default: every update). */
  granularity?: Granularity;
  /** Per-document granularity by docId pattern; the first match wins. */
  granularityRules?: readonly GranularityRule[];
  /**
   * Store a checkpoint after this many entries or payload bytes since the last (default 1,000 / 4 MiB),
   * once the payload bytes since the last also reach `sizeFraction` of that checkpoint's size (default
   * 0.1): a checkpoint re-encodes the whole document, so a large one is not rebuilt every 1,000 small edits.
   */
  checkpointEvery?: { entries?: number; bytes?: number; sizeFraction?: number };
  /** Prune entries older than the checkpoint that leaves at least this many entries (default: keep all). */
  retainEntries?: number;
  /**
   * Refuse changes (DOCUMENT_TOO_LARGE) that would make a document's stored size — its latest
   * checkpoint plus every entry since — exceed this many bytes (default: no cap).
   */
  maxDocumentBytes?: number;
  /** Evict documents nobody has held for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Entries read from the log per round trip while loading (default 500); loading yields every ~10 ms. */
  loadChunk?: number;
  /** Failures that have no caller to report to (background appends, publishing, checkpoints). */
  onError?: (error: unknown, operation: string, docId: string) => void;
  /** Called once entries this node wrote are durable. */
  onAppended?: (docId: string, entries: readonly LogEntry[]) => void;
  /** Errors thrown by change listeners; without it they are rethrown asynchronously. */
  onListenerError?: (error: unknown, change: Change) => void;
}

/** Options of a write through the engine. */
export interface WriteOptions {
  /** Who makes the change (a client, agent or service id); default: this node. */
  origin?: string;
}

/** Options of `Engine.applyPatch`: a write, optionally interpreted at an earlier version. */
export interface PatchWriteOptions extends WriteOptions {
  /** The seq of the state the patch was written against: positions mean what its author saw. */
  baseSeq?: number;
}

/** Documents backed by a durable log, kept in step across nodes. */
export class Engine {
  /** The open documents: opened on demand, shared by holders, evicted once idle. */
  readonly registry: DocumentRegistry;
  /** The durable log every change goes to before anyone sees it. */
  readonly log: UpdateLog;
  /** This node's id: the origin of its writes, and how peers tell its broadcasts apart. */
  readonly nodeId: string;
  private readonly live = new Map<string, LiveDocument>();
  private readonly contextFor: (docId: string) => LiveDocumentContext;
  private readonly stopReconnect: (() => void) | undefined;
  private readonly gapListeners = new Set<(docId: string, entries: number) => void>();
  private readonly onError: (error: unknown, operation: string, docId: string) => void;
  private readonly errorListeners = new Set<(error: unknown, operation: string, docId: string) => void>();

  /** An engine on `options.log` (and `options.bus` for several nodes); documents open on first use. */
  constructor(options: EngineOptions) {
    this.log = options.log;
    this.nodeId = options.nodeId ?? `node-${Math.random().toString(36).slice(2, 10)}`;
    const rules = options.granularityRules ?? [];
    const fallback = options.granularity ?? { mode: 'update' };
    const report =
      options.onError ??
      ((error: unknown) => {
        queueMicrotask(() => {
          throw error;
        });
      });
    // Every background failure goes to `onError` and to whoever counts them (`onBackgroundError`).
    this.onError = (error, operation, docId) => {
      report(error, operation, docId);
      for (const listener of this.errorListeners) listener(error, operation, docId);
    };
    const onError = this.onError;
    const commits = new GroupCommit(options.log);
    // Retention prunes through it: named versions keep the history they need.
    const pinned = Number.isFinite(options.retainEntries ?? Number.POSITIVE_INFINITY)
      ? pinVersions(options.log)
      : options.log;
    this.contextFor = (docId) => ({
      log: pinned,
      commits,
      bus: options.bus,
      nodeId: this.nodeId,
      granularity: granularityFor(docId, rules, fallback),
      checkpointEvery: {
        entries: options.checkpointEvery?.entries ?? 1000,
        bytes: options.checkpointEvery?.bytes ?? 4 * 1024 * 1024,
        sizeFraction: options.checkpointEvery?.sizeFraction ?? 0.1,
      },
      retainEntries: options.retainEntries ?? Number.POSITIVE_INFINITY,
      maxDocumentBytes: options.maxDocumentBytes ?? Number.POSITIVE_INFINITY,
      loadChunk: options.loadChunk ?? DEFAULT_CHUNK,
      onError,
      onAppended: options.onAppended,
      onListenerError: options.onListenerError,
      onGapFilled: (docId, entries) => {
        for (const listener of this.gapListeners) listener(docId, entries);
      },
    });
    const registryOptions: ConstructorParameters<typeof DocumentRegistry>[0] = {
      load: async (docId) => {
        const live = await LiveDocument.open(docId, this.contextFor(docId));
        this.live.set(docId, live);
        return live.doc;
      },
      beforeEvict: async (doc) => {
        await this.live.get(doc.docId)?.flush();
        return true;
      },
    };
    if (options.idleTimeoutMs !== undefined) registryOptions.idleTimeoutMs = options.idleTimeoutMs;
    this.registry = new DocumentRegistry(registryOptions);
    // Pub/Sub is at-most-once: after the bus reconnects, every open document reads what it missed.
    this.stopReconnect = options.bus?.onReconnect?.(() => {
      this.catchUp().catch((error) => onError(error, 'catch up', '*'));
    });
    this.registry.on('closed', (docId) => {
      const live = this.live.get(docId);
      this.live.delete(docId);
      live?.dispose().catch((error) => onError(error, 'close', docId));
    });
  }

  /** Opens a document (loading it from the log on first use) and holds it until `release`. */
  open(docId: string): Promise<StateDocument> {
    return this.registry.open(docId);
  }

  /** Lets go of a document; idle documents are evicted after their changes are durable. */
  release(docId: string): void {
    this.registry.release(docId);
  }

  /** Writes through the path API as one all-or-nothing transaction; resolves with its seq once durable. */
  write<T>(
    docId: string,
    fn: (tx: DocumentWriter) => T,
    options: WriteOptions = {},
  ): Promise<{ seq: number; result: T }> {
    return this.with(docId, (live) => live.write(fn, options.origin ?? this.nodeId));
  }

  /** Applies a JSON Patch (at the version `baseSeq` when given); resolves with its seq once durable. */
  applyPatch(docId: string, patch: unknown, options: PatchWriteOptions = {}): Promise<{ seq: number }> {
    return this.with(docId, async (live) => {
      const origin = options.origin ?? this.nodeId;
      // At the current seq with nothing on its way to the log, the base is what a write sees anyway.
      const current = options.baseSeq === live.seq && live.settled;
      const base =
        options.baseSeq === undefined || current
          ? undefined
          : (await stateAt(this.log, docId, { seq: options.baseSeq })).update;
      const { seq } = await live.change((doc) =>
        doc.applyPatch(patch, base === undefined ? { origin } : { base, origin }),
      );
      return { seq };
    });
  }

  /**
   * Takes a Yjs update from a client: checked at the gate (refused with nothing changed), logged,
   * and applied once durable. Resolves with its seq, and `changed: false` when the document held
   * everything in it already (a reconnecting client's sync step 2, a duplicate): then nothing was
   * logged and `seq` is the document's current one.
   */
  receive(
    docId: string,
    update: Uint8Array,
    options: WriteOptions = {},
  ): Promise<{ seq: number; changed: boolean }> {
    return this.with(docId, (live) => live.receive(update, options.origin ?? this.nodeId));
  }

  /**
   * Records a lifecycle event (validated; see `parseLifecycleEvent`), applying `change` in the same
   * transaction. Resolves with its seq once durable.
   */
  record(
    docId: string,
    event: unknown,
    options: WriteOptions & { change?: (tx: DocumentWriter) => void } = {},
  ): Promise<{ seq: number }> {
    let parsed: ReturnType<typeof parseLifecycleEvent>;
    try {
      parsed = parseLifecycleEvent(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.with(docId, async (live) => ({
      seq: await live.record(parsed, options.origin ?? this.nodeId, options.change),
    }));
  }

  /** Pauses a document: incoming updates wait, in order, until `resume` applies them as one batch. */
  pause(docId: string, options: WriteOptions = {}): Promise<{ seq: number }> {
    return this.with(docId, async (live) => ({ seq: await live.pause(options.origin ?? this.nodeId) }));
  }

  /** Resumes a paused document. */
  resume(docId: string, options: WriteOptions = {}): Promise<{ seq: number }> {
    return this.with(docId, async (live) => ({ seq: await live.resume(options.origin ?? this.nodeId) }));
  }

  /** True when an open document is paused. */
  isPaused(docId: string): boolean {
    return this.live.get(docId)?.isPaused ?? false;
  }

  /** The lifecycle status of an object in an open document ('' = the document). */
  statusOf(docId: string, path = ''): LifecycleStatus | undefined {
    return this.live.get(docId)?.statusOf(path);
  }

  /** Listens for lifecycle events of a document (held open until the returned function is called). */
  async onLifecycle(
    docId: string,
    filter: LifecycleFilter,
    listener: LifecycleListener,
  ): Promise<() => void> {
    await this.open(docId);
    const stop = this.liveOf(docId).onLifecycle(filter, listener);
    return () => {
      stop();
      this.release(docId);
    };
  }

  /**
   * Calls `listener` with each update of a document once the log holds it — received, written
   * here, or from another node — with its seq and origin. Holds the document open until stopped.
   */
  async onDurableUpdate(docId: string, listener: DurableUpdateListener): Promise<() => void> {
    await this.open(docId);
    const stop = this.liveOf(docId).onDurableUpdate(listener);
    return () => {
      stop();
      this.release(docId);
    };
  }

  /**
   * Calls `listener` whenever entries the bus did not deliver (Pub/Sub is at-most-once) were read
   * from the log instead, with how many. Returns a function that stops it.
   */
  onGapFilled(listener: (docId: string, entries: number) => void): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /**
   * Calls `listener` with every failure of background work (appends retried or refused, checkpoints,
   * bus intake, listeners, feeds), besides `onError`: a server counts them. Returns a function that stops it.
   */
  onBackgroundError(listener: (error: unknown, operation: string, docId: string) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** The highest seq applied to an open document with nothing missing below it. */
  seqOf(docId: string): number | undefined {
    return this.live.get(docId)?.seq;
  }

  /** The document's JSON at a seq or time, rebuilt from the log (nearest checkpoint + entries). */
  stateAt(docId: string, at: HistoryPoint): Promise<HistoricalState> {
    return stateAt(this.log, docId, at);
  }

  /** Steps through history with the JSON Patch of each entry. */
  replay(docId: string, range: { from?: number; to?: number } = {}): AsyncGenerator<ReplayStep> {
    return replay(this.log, docId, range);
  }

  /** The current JSON of a document (opening it if needed). */
  async get(docId: string, pointer = ''): Promise<Json | undefined> {
    const doc = await this.open(docId);
    try {
      return doc.get(pointer);
    } finally {
      this.release(docId);
    }
  }

  /** Reads what the log has beyond what this node applied, for every open document. */
  async catchUp(): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => live.catchUp()));
  }

  /** Reports a failure of per-document work that has no caller (a feed, a stream) to `onError`. */
  reportError(error: unknown, operation: string, docId: string): void {
    this.onError(error, operation, docId);
  }

  /** Resolves once every open document's changes are durable. */
  async flush(): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => live.flush()));
  }

  /**
   * Flushes, then closes every document. The log and bus stay open: they belong to the caller.
   * When the log is down, it still closes, then rejects with LOG_UNAVAILABLE.
   */
  async close(): Promise<void> {
    this.stopReconnect?.();
    let unflushed: unknown;
    await this.flush().catch((error) => {
      unflushed = error;
    });
    const disposing = [...this.live.values()].map((live) => live.dispose());
    this.registry.closeAll();
    await Promise.all(disposing);
    // Closed either way; a caller learns that changes were not durable (LOG_UNAVAILABLE).
    if (unflushed !== undefined) throw unflushed;
  }

  private liveOf(docId: string): LiveDocument {
    const live = this.live.get(docId);
    if (live === undefined) throw new Error(`unreachable: "${docId}" is open but has no live document`);
    return live;
  }

  private async with<T>(docId: string, fn: (live: LiveDocument) => Promise<T>): Promise<T> {
    await this.open(docId);
    try {
      return await fn(this.liveOf(docId));
    } finally {
      this.release(docId);
    }
  }

  // Versions (versions.ts, revert.ts, undo.ts): thin delegations to the public API above.

  /** The JSON Patch between two points (seq, time or named version) of a document's history. */
  diff(docId: string, from: VersionPoint, to: VersionPoint): Promise<VersionDiff> {
    return diffVersions(this.log, docId, from, to);
  }

  /** The document's JSON at a point, which may be a named version. */
  versionState(docId: string, at: VersionPoint): Promise<HistoricalState> {
    return versionState(this.log, docId, at);
  }

  /** Makes the document's JSON what it was at `to`, by new operations written as one entry. */
  revert(docId: string, to: VersionPoint, options: VersionWriteOptions = {}): Promise<Reverted> {
    return revert(this, docId, to, options);
  }

  /** Undoes one run's or one origin's changes (Yjs undo semantics), keeping everyone else's. */
  undo(docId: string, selection: UndoSelection, options: VersionWriteOptions = {}): Promise<Undone> {
    return undo(this, docId, selection, options);
  }

  /** Names a seq (default: the head), recorded in the log as a lifecycle event. */
  nameVersion(
    docId: string,
    name: string,
    options: WriteOptions & { seq?: number } = {},
  ): Promise<NamedVersion> {
    return nameVersion(this, docId, name, options);
  }

  /** Deletes a named version (recorded in the log); it no longer pins history. */
  deleteVersion(
    docId: string,
    name: string,
    options: WriteOptions = {},
  ): Promise<{ name: string; seq: number; deletedAt: number }> {
    return deleteVersion(this, docId, name, options);
  }

  /** The named versions of a document, with who named them and when. */
  versions(docId: string): Promise<NamedVersion[]> {
    return listVersions(this.log, docId);
  }
}
