/**
 * One open document on one node, bound to its log and bus. The log leads and the document
 * follows: the state everyone reads (`doc`) is exactly the log up to `seq`, because every change —
 * a client's update, a write through the path API, an agent's patch, another node's entry — enters
 * it only as a log entry, in seq order. Local changes are first tried on a staging replica (which
 * refuses what Yjs cannot integrate and produces the update of a path write), queued for the log,
 * and applied once durable. So every seq label names a real state, a refused change touches
 * nothing, and a failed append leaves nothing behind to reload.
 *
 * Lifecycle:
 *
 *   loading ──loaded──▶ ready ◀──────────── reloaded ───┐
 *      │                  │ non-retryable append failure │
 *      │ failed           ▼                              │
 *      └──────▶ closed ◀─ reloading ─────────────────────┘
 *                 ▲   (ready and reloading close on dispose)
 *
 * Intake, beside it: `open`, or `paused` (from the log's status events), where clients' updates
 * wait in order and path writes are refused until `resume`.
 */

import * as Y from 'yjs';
import { type Deferred, deferred } from './deferred.js';
import { ErrorCode, YStateError } from './errors.js';
import type { Granularity } from './granularity.js';
import type { GroupCommit } from './group-commit.js';
import { applyEntries, LogOrigin, loadInto } from './history.js';
import { type GatedItems, gateJsonForm } from './json-form.js';
import {
  decodeLifecyclePayload,
  encodeLifecyclePayload,
  type LifecycleEvent,
  type LifecycleStatus,
  type RecordedLifecycleEvent,
} from './lifecycle.js';
import type { LogEntry } from './log-entry.js';
import { compilePattern } from './path-pattern.js';
import { parsePointer } from './pointer.js';
import { type Change, type DocumentWriter, StateDocument } from './state-document.js';
import { addsNothing, assertUpdate, type DecodedUpdate, integratesCleanly } from './update-check.js';
import type { SyncBus, UpdateLog } from './update-log.js';
import { type Committed, type QueuedChange, WriteQueue } from './write-queue.js';

/** What a live document needs from the engine that owns it. */
export interface LiveDocumentContext {
  log: UpdateLog;
  /** The node's group commit: appends of all documents share the store's expensive step. */
  commits: GroupCommit;
  bus: SyncBus | undefined;
  nodeId: string;
  granularity: Granularity;
  checkpointEvery: { entries: number; bytes: number; sizeFraction: number };
  /** Keep at least this many entries before the latest checkpoint when pruning (Infinity: never prune). */
  retainEntries: number;
  /** Refuse changes that would make the document's stored size exceed this (Infinity: no cap). */
  maxDocumentBytes: number;
  /** How many entries are applied between event-loop yields when loading. */
  loadChunk: number;
  onError: (error: unknown, operation: string, docId: string) => void;
  /** Called once entries this node wrote are durable (the server broadcasts them to its clients). */
  onAppended: ((docId: string, entries: readonly LogEntry[]) => void) | undefined;
  onListenerError: ((error: unknown, change: Change) => void) | undefined;
  /** Called with how many entries were read from the log because the bus had not delivered them. */
  onGapFilled: (docId: string, entries: number) => void;
}

/** Which lifecycle events a listener wants: by type, name and the path pattern of the object. */
export interface LifecycleFilter {
  type?: LifecycleEvent['type'];
  names?: readonly string[];
  path?: string;
}

/** Receives each lifecycle event recorded in a document's log, with its seq. */
export type LifecycleListener = (event: RecordedLifecycleEvent) => void;

/** Receives each Yjs update once the log holds it, with its seq and origin (what a server broadcasts). */
export type DurableUpdateListener = (update: Uint8Array, seq: number, origin: string) => void;

/** Where a live document is in its life (see the diagram above). */
export type LiveDocumentState = 'loading' | 'ready' | 'reloading' | 'closed';

/** An entry waiting for its turn: applied once every seq below it is. */
interface Arrival {
  entry: LogEntry;
  /** Written by this node (the staging replica has it already). */
  local: boolean;
}

const MAX_RELOAD_DELAY_MS = 2000;

export class LiveDocument {
  readonly doc: StateDocument;
  private state: LiveDocumentState = 'loading';
  private intake: 'open' | 'paused' = 'open';
  private watermark = 0;
  /** Entries beyond `watermark + 1`, by seq. */
  private readonly ahead = new Map<number, Arrival>();
  private readonly queue: WriteQueue;
  /**
   * Durable state plus the local changes on their way to the log: made when a change needs a
   * trial (a path write, a client update not sure to integrate), with `unstaged` in it.
   */
  private staged: StateDocument | undefined;
  /**
   * Clients' updates on their way to the log that went without a trial (see `take`), in order,
   * with where the gate placed their items (the gate places later updates' items against them).
   */
  private readonly unstaged = new Map<QueuedChange, GatedItems>();
  /** Where each Yjs client's clock ends once `unstaged` is applied. */
  private readonly unstagedEnds = new Map<number, number>();
  /** Set while a local change is tried on the staging replica: its updates are collected here. */
  private capturing: { update: Uint8Array; origin: unknown }[] | undefined;
  private nextGroup = 0;
  private currentGroup: number | undefined;
  private collecting: Promise<number>[] | undefined;
  /** The error that put the document into `reloading`. */
  private failure: YStateError | undefined;
  private reloadDelayMs = 0;
  /** Clients' updates received while paused, in order, with whoever waits for their seq. */
  private readonly held: { update: Uint8Array; origin: string; done: Deferred<number> }[] = [];
  private incoming: Promise<void> = Promise.resolve();
  private readonly sinceCheckpoint = { entries: 0, bytes: 0 };
  /** The payload size of the latest checkpoint (loaded or stored), which spaces the next one. */
  private checkpointBytes = 0;
  /** The stored size: the latest checkpoint plus every entry since (only tracked under a size cap). */
  private storedBytes = 0;
  private checkpointing: Promise<void> | undefined;
  private readonly statuses = new Map<string, LifecycleStatus>();
  private readonly lifecycleListeners = new Set<LifecycleListener>();
  private readonly durableListeners = new Set<DurableUpdateListener>();
  private stopBus: (() => Promise<void>) | undefined;

  private constructor(
    readonly docId: string,
    private readonly ctx: LiveDocumentContext,
  ) {
    const options: ConstructorParameters<typeof StateDocument>[1] = {
      sequencer: this.sequence,
      writeTo: this.writeTarget,
    };
    if (ctx.onListenerError) options.onListenerError = ctx.onListenerError;
    this.doc = new StateDocument(docId, options);
    this.queue = new WriteQueue({
      granularity: ctx.granularity,
      append: (entries) => ctx.commits.append(docId, entries),
      onCommitted: (committed, unlogged) => this.committed(committed, unlogged),
      onFailure: (error) => this.failed(error),
      onRetry: (error) => ctx.onError(error, 'append', docId),
    });
  }

  /** Opens a document: subscribes to its bus channel, then loads it from the log. */
  static async open(docId: string, ctx: LiveDocumentContext): Promise<LiveDocument> {
    const live = new LiveDocument(docId, ctx);
    const loaded = deferred<void>();
    // Entries published while loading wait until the load is done, then fill in from the log.
    live.incoming = loaded.promise;
    try {
      if (ctx.bus) live.stopBus = await ctx.bus.subscribe(docId, (entries) => live.receiveEntries(entries));
      live.watermark = await loadInto(ctx.log, docId, live.doc.ydoc, {
        chunk: ctx.loadChunk,
        onCheckpoint: (checkpoint) => {
          live.checkpointBytes = checkpoint.payload.byteLength;
        },
        onEvents: (events) => {
          for (const event of events) live.noteStatus(event);
        },
      });
      if (Number.isFinite(ctx.maxDocumentBytes)) {
        live.storedBytes = Y.encodeStateAsUpdate(live.doc.ydoc).byteLength;
      }
      if (live.statuses.get('') === 'paused') live.setPaused(true);
      live.doc.ydoc.on('afterTransaction', live.onDurableTransaction);
      live.state = 'ready';
      loaded.resolve();
      return live;
    } catch (error) {
      loaded.resolve();
      await live.dispose();
      throw error;
    }
  }

  /** The seq of the state `doc` holds: every entry up to it is applied, none after it. */
  get seq(): number {
    return this.watermark;
  }

  /** Where the document is in its life. */
  get lifecycle(): LiveDocumentState {
    return this.state;
  }

  get isPaused(): boolean {
    return this.intake === 'paused';
  }

  /** True when no local change is on its way to the log (the staging replica equals `doc`). */
  get settled(): boolean {
    return this.queue.size === 0;
  }

  /** The status of the object at `path` ('' = the document), from its lifecycle events. */
  statusOf(path = ''): LifecycleStatus | undefined {
    return this.statuses.get(path);
  }

  /**
   * Runs `fn` against the document (writes through the path API, `applyPatch`, …) and resolves
   * once every change it made is durable and applied, with the seq of the last entry holding them.
   */
  async change<T>(fn: (doc: StateDocument) => T): Promise<{ seq: number; result: T }> {
    const collected: Promise<number>[] = [];
    this.currentGroup = ++this.nextGroup;
    this.collecting = collected;
    let result: T;
    try {
      result = fn(this.doc);
    } finally {
      this.currentGroup = undefined;
      this.collecting = undefined;
    }
    if (collected.length === 0) return { seq: this.watermark, result };
    const seqs = await Promise.all(collected);
    return { seq: Math.max(...seqs), result };
  }

  /** Writes through the path API as one transaction; resolves once durable. */
  write<T>(fn: (tx: DocumentWriter) => T, origin: string): Promise<{ seq: number; result: T }> {
    return this.change((doc) => doc.batch(fn, origin));
  }

  /**
   * Takes a Yjs update from a client. It is checked (well-formed, within the size cap, and
   * integrable: tried on the staging replica, never on `doc`), appended to the log, and only then
   * applied and announced. Refused: INVALID_UPDATE / INVALID_VALUE / DOCUMENT_TOO_LARGE, with
   * nothing changed. An update that adds nothing logs nothing (`changed: false`, at the current
   * seq). While paused it waits for `resume`.
   */
  async receive(update: Uint8Array, origin: string): Promise<{ seq: number; changed: boolean }> {
    const decoded = assertUpdate(update);
    // What changes nothing is no write: ignored even while the document refuses writes.
    if (addsNothing(this.doc.ydoc, decoded)) return { seq: this.watermark, changed: false };
    this.assertWritable();
    const gated = this.checkJsonForm(decoded, update);
    this.assertRoomFor(update.byteLength);
    if (this.intake === 'paused') {
      const done = deferred<number>();
      this.held.push({ update, origin, done });
      return { seq: await done.promise, changed: true };
    }
    return { seq: await this.take(update, origin, decoded, gated), changed: true };
  }

  /** Records a lifecycle event, with the state changes `change` makes in the same entry. */
  record(event: LifecycleEvent, origin: string, change?: (tx: DocumentWriter) => void): Promise<number> {
    this.assertWritable();
    if (change) this.assertNotPaused();
    const update = change ? this.stage((staged) => staged.batch(change, origin)).update : undefined;
    if (update) this.assertStagedFits(update);
    if (event.type === 'status' && event.path === '' && event.name === 'paused') this.setPaused(true);
    return this.enqueue({ kind: 'lifecycle', update, event, origin });
  }

  /** Pauses the document: incoming updates wait in order, writes through the API are refused. */
  pause(origin: string): Promise<number> {
    return this.record({ type: 'status', name: 'paused', path: '' }, origin);
  }

  /** Resumes the document: records `resumed`, then takes everything that waited as one entry. */
  resume(origin: string): Promise<number> {
    const seq = this.record({ type: 'status', name: 'resumed', path: '' }, origin);
    this.release();
    return seq;
  }

  /** Calls `listener` with every update of this document once it is durable. Returns a function that stops it. */
  onDurableUpdate(listener: DurableUpdateListener): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  /** Calls `listener` with lifecycle events that match `filter`. Returns a function that stops it. */
  onLifecycle(filter: LifecycleFilter, listener: LifecycleListener): () => void {
    const pattern = filter.path === undefined ? undefined : compilePattern(filter.path);
    const names = filter.names === undefined ? undefined : new Set(filter.names);
    const wrapped: LifecycleListener = (event) => {
      if (filter.type !== undefined && event.type !== filter.type) return;
      if (names && !names.has(event.name)) return;
      if (pattern && !pattern.touches(parsePointer(event.path))) return;
      listener(event);
    };
    this.lifecycleListeners.add(wrapped);
    return () => this.lifecycleListeners.delete(wrapped);
  }

  /** Entries from the bus: applied in seq order, gaps filled from the log, own echoes skipped. */
  receiveEntries(entries: readonly LogEntry[]): void {
    void this.accept(entries, false);
  }

  /** Reads whatever the log has beyond what this node applied (after a bus reconnect, say). */
  catchUp(): Promise<void> {
    return this.accept([], false);
  }

  /** Resolves once every queued change is durable and every received entry applied. */
  async flush(): Promise<void> {
    await this.queue.drain();
    await this.incoming;
    await this.checkpointing;
  }

  /** Stops listening to the bus and the document (the registry destroys the document). */
  async dispose(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue.close();
    this.doc.ydoc.off('afterTransaction', this.onDurableTransaction);
    this.staged?.destroy();
    this.staged = undefined;
    await this.stopBus?.();
  }

  // --- local changes: staged, queued, durable, applied ---

  private assertWritable(): void {
    if (this.state === 'closed') {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_CLOSED,
        message: `document "${this.docId}" is closed`,
      });
    }
    if (this.state === 'reloading' && this.failure) throw this.failure;
  }

  /** Writes through the API (and state changes recorded with an event) wait for no one while paused: refused. */
  private assertNotPaused(): void {
    if (this.intake !== 'paused') return;
    throw new YStateError({ code: ErrorCode.DOCUMENT_PAUSED, message: `document "${this.docId}" is paused` });
  }

  private assertRoomFor(bytes: number): void {
    const max = this.ctx.maxDocumentBytes;
    if (this.storedBytes + bytes <= max) return;
    throw new YStateError({
      code: ErrorCode.DOCUMENT_TOO_LARGE,
      message: `document "${this.docId}" would exceed its size limit of ${max} bytes`,
    });
  }

  /**
   * The gate's content check, against the durable state plus the changes on their way (where a
   * parent the update names may be). Without a replica, it asks `doc` and the updates that went
   * without a trial, and builds the replica only to be sure of a refusal. Returns where the
   * update's items sit in `doc` (undefined when the replica answered).
   */
  private checkJsonForm(decoded: DecodedUpdate, update: Uint8Array): GatedItems | undefined {
    if (this.staged !== undefined) {
      gateJsonForm(decoded, this.staged.ydoc, update, []);
      return undefined;
    }
    try {
      return gateJsonForm(decoded, this.doc.ydoc, update, this.unstaged.values());
    } catch (error) {
      if (this.unstaged.size === 0) throw error;
      gateJsonForm(decoded, this.stagingReplica().ydoc, update, []);
      return undefined;
    }
  }

  /** A staged change that does not fit is refused, and the replica that holds it is dropped. */
  private assertStagedFits(update: Uint8Array): void {
    try {
      this.assertRoomFor(update.byteLength);
    } catch (error) {
      this.dropStaged();
      throw error;
    }
  }

  /** The replica local changes are tried on: the durable state plus the changes on their way. */
  private stagingReplica(): StateDocument {
    if (this.staged === undefined) {
      const staged = new StateDocument(this.docId);
      Y.applyUpdate(staged.ydoc, Y.encodeStateAsUpdate(this.doc.ydoc), this);
      // Updates are idempotent: one that reached `doc` meanwhile is simply there twice.
      for (const change of this.unstaged.keys())
        Y.applyUpdate(staged.ydoc, change.update as Uint8Array, this);
      staged.ydoc.on('update', this.onStagedUpdate);
      this.staged = staged;
    }
    return this.staged;
  }

  /** Writes through `doc` (the path API, `applyPatch`) land here: staged, then queued. */
  private readonly writeTarget = {
    write: <T>(run: (staged: StateDocument) => T): T => {
      this.assertWritable();
      this.assertNotPaused();
      const { result, update, origin } = this.stage(run);
      if (update) {
        this.assertStagedFits(update);
        void this.enqueue({ kind: 'update', update, event: undefined, origin });
      }
      return result;
    },
    text: (pointer: string): Y.Text => this.stagingReplica().text(pointer),
  };

  private readonly onStagedUpdate = (update: Uint8Array, origin: unknown): void => {
    // Entries mirrored from the log, and the replica's own making, are not changes.
    if (origin instanceof LogOrigin || origin === this) return;
    if (this.capturing) {
      this.capturing.push({ update, origin });
      return;
    }
    // An editor binding writing to the replica's Y types (see `StateDocument.text`).
    void this.enqueue({
      kind: 'update',
      update,
      event: undefined,
      origin: originId(origin, this.ctx.nodeId),
    });
  };

  /**
   * Runs a local change on the staging replica and returns the update it made. If Yjs throws
   * part-way, the replica may hold part of the change: it is dropped (and rebuilt from the durable
   * state when next needed), so a refused change leaves nothing anywhere.
   */
  private stage<T>(run: (staged: StateDocument) => T): {
    result: T;
    update: Uint8Array | undefined;
    origin: string;
  } {
    const staged = this.stagingReplica();
    const collected: { update: Uint8Array; origin: unknown }[] = [];
    const outer = this.capturing;
    this.capturing = collected;
    try {
      const result = run(staged);
      const updates = collected.map((c) => c.update);
      const update = updates.length <= 1 ? updates[0] : Y.mergeUpdates(updates);
      return { result, update, origin: originId(collected[collected.length - 1]?.origin, this.ctx.nodeId) };
    } catch (error) {
      if (collected.length > 0) this.dropStaged();
      throw error;
    } finally {
      this.capturing = outer;
    }
  }

  /**
   * A client's update on its way to the log. With no staging replica, an update the gate placed
   * against `doc` (`gated`) and that Yjs is sure to integrate (`integratesCleanly`, against `doc`
   * and the updates ahead of it) needs no trial: most editors' updates go straight to the queue.
   * Any other is tried on the replica first.
   */
  private take(
    update: Uint8Array,
    origin: string,
    decoded: DecodedUpdate,
    gated: GatedItems | undefined,
  ): Promise<number> {
    if (
      this.staged !== undefined ||
      gated === undefined ||
      !integratesCleanly(this.doc.ydoc, decoded, this.unstagedEnds)
    ) {
      return this.stageUpdate(update, origin);
    }
    const change = this.queued({ kind: 'update', update, event: undefined, origin });
    this.unstaged.set(change, gated);
    for (const struct of decoded.structs) {
      const end = struct.id.clock + struct.length;
      if (end > (this.unstagedEnds.get(struct.id.client) ?? 0)) this.unstagedEnds.set(struct.id.client, end);
    }
    return this.add(change);
  }

  /** Changes that went without a trial are in `doc` (or refused): the replica no longer needs them. */
  private unstage(changes: readonly QueuedChange[]): void {
    if (this.unstaged.size === 0) return;
    for (const change of changes) this.unstaged.delete(change);
    if (this.unstaged.size === 0) this.unstagedEnds.clear();
  }

  private stageUpdate(update: Uint8Array, origin: string): Promise<number> {
    const staged = this.stagingReplica();
    // The trial needs no capture (the update as received is what is logged): without an 'update'
    // listener, Yjs does not encode the transaction's update.
    staged.ydoc.off('update', this.onStagedUpdate);
    try {
      Y.applyUpdate(staged.ydoc, update, origin);
      staged.ydoc.on('update', this.onStagedUpdate);
    } catch (cause) {
      // Whatever Yjs integrated before it threw is gone with the replica: nothing changed.
      this.dropStaged();
      throw new YStateError({
        code: ErrorCode.INVALID_UPDATE,
        message: 'Yjs could not integrate the update',
        cause,
      });
    }
    // The update as received is what the log holds, so every replay integrates it as `doc` does.
    return this.enqueue({ kind: 'update', update, event: undefined, origin });
  }

  private dropStaged(): void {
    this.staged?.ydoc.off('update', this.onStagedUpdate);
    this.staged?.destroy();
    this.staged = undefined;
  }

  private enqueue(change: Omit<QueuedChange, 'group' | 'time'>): Promise<number> {
    return this.add(this.queued(change));
  }

  private queued(change: Omit<QueuedChange, 'group' | 'time'>): QueuedChange {
    return { ...change, group: this.currentGroup ?? ++this.nextGroup, time: Date.now() };
  }

  private add(change: QueuedChange): Promise<number> {
    const done = this.queue.add(change);
    this.collecting?.push(done);
    return done;
  }

  /** A batch is durable: apply its entries (in seq order with everyone else's), then announce. */
  private async committed(
    committed: readonly Committed[],
    unlogged: readonly QueuedChange[],
  ): Promise<number> {
    const entries = committed.map((c) => c.entry);
    if (entries.length > 0) {
      if (!this.ctx.log.publishesAppends) {
        this.ctx.bus
          ?.publish(this.docId, entries)
          .catch((error) => this.ctx.onError(error, 'publish', this.docId));
      }
      await this.accept(entries, true);
      for (const { changes } of committed) this.unstage(changes);
      this.ctx.onAppended?.(this.docId, entries);
      this.afterAppend(entries);
    }
    if (unlogged.length > 0) {
      await this.storeState(unlogged);
      this.unstage(unlogged);
    }
    return this.watermark;
  }

  /** `lifecycle` granularity keeps state out of the log: it is stored as a checkpoint, then applied. */
  private async storeState(unlogged: readonly QueuedChange[]): Promise<void> {
    if (this.watermark === 0) {
      // A checkpoint names the entry it follows: a document's first is its `created` event.
      const created: LifecycleEvent = { type: 'status', name: 'created', path: '' };
      const entries = await this.ctx.commits.append(this.docId, [
        {
          kind: 'lifecycle',
          time: Date.now(),
          origin: this.ctx.nodeId,
          flags: 0,
          payload: encodeLifecyclePayload(created),
        },
      ]);
      await this.accept(entries, true);
    }
    const updates = unlogged.map((c) => c.update as Uint8Array);
    const payload = Y.mergeUpdates([Y.encodeStateAsUpdate(this.doc.ydoc), ...updates]);
    const seq = this.watermark;
    await this.ctx.log.storeCheckpoint(this.docId, {
      kind: 'checkpoint',
      seq,
      time: Date.now(),
      origin: this.ctx.nodeId,
      flags: 0,
      payload,
    });
    const last = unlogged[unlogged.length - 1] as QueuedChange;
    const merged = Y.mergeUpdates(updates);
    Y.applyUpdate(this.doc.ydoc, merged, new LogOrigin(seq, last.origin, true));
    this.announce(merged, seq, last.origin);
  }

  /** A non-retryable append failure: every waiter has the error; reload from the log, then take writes. */
  private failed(error: YStateError): void {
    this.ctx.onError(error, 'append', this.docId);
    if (this.state !== 'ready') return;
    this.state = 'reloading';
    this.failure = error;
    // The replica holds the refused changes (and later ones that build on them): it goes.
    this.dropStaged();
    this.unstaged.clear();
    this.unstagedEnds.clear();
    this.reload();
  }

  /**
   * Reloading is reading what the log holds beyond `seq`: `doc` never held anything else, and a
   * store that could not undo part of a refused batch has it in the log, where it is now applied.
   */
  private reload(): void {
    this.accept([], false).then(
      () => {
        if (this.state !== 'reloading') return;
        this.state = 'ready';
        this.failure = undefined;
        this.reloadDelayMs = 0;
      },
      (error) => {
        this.ctx.onError(error, 'reload', this.docId);
        this.reloadDelayMs = Math.min(MAX_RELOAD_DELAY_MS, Math.max(50, this.reloadDelayMs * 2));
        const timer = setTimeout(() => {
          if (this.state === 'reloading') this.reload();
        }, this.reloadDelayMs);
        (timer as { unref?: () => void }).unref?.();
      },
    );
  }

  private afterAppend(stored: readonly LogEntry[]): void {
    if (this.ctx.granularity.mode === 'lifecycle') return;
    this.sinceCheckpoint.entries += stored.length;
    for (const entry of stored) this.sinceCheckpoint.bytes += entry.payload.byteLength;
    const { entries, bytes, sizeFraction } = this.ctx.checkpointEvery;
    const since = this.sinceCheckpoint;
    if (this.checkpointing || (since.entries < entries && since.bytes < bytes)) return;
    if (since.bytes < this.checkpointBytes * sizeFraction) return;
    this.sinceCheckpoint.entries = 0;
    this.sinceCheckpoint.bytes = 0;
    this.checkpointing = this.checkpoint()
      .catch((error) => this.ctx.onError(error, 'checkpoint', this.docId))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Stores a checkpoint of `doc` (exactly the state at `seq`), then prunes what the retention bound allows. */
  private async checkpoint(): Promise<void> {
    const { log, nodeId, retainEntries } = this.ctx;
    const seq = this.watermark;
    const payload = Y.encodeStateAsUpdate(this.doc.ydoc);
    await log.storeCheckpoint(this.docId, {
      kind: 'checkpoint',
      seq,
      time: Date.now(),
      origin: nodeId,
      flags: 0,
      payload,
    });
    this.checkpointBytes = payload.byteLength;
    if (Number.isFinite(this.ctx.maxDocumentBytes)) this.storedBytes = payload.byteLength;
    if (!Number.isFinite(retainEntries)) return;
    const oldest = await log.latestCheckpoint(this.docId, seq - retainEntries);
    if (oldest) await log.prune(this.docId, oldest.seq + 1);
  }

  // --- entries, in seq order ---

  /**
   * Takes entries (this node's own once durable, or from the bus) and applies every one whose
   * turn has come, in seq order; a gap is filled from the log, which is the truth (the bus is only
   * the fast path). With no entries, reads whatever the log has beyond `seq`.
   */
  private accept(entries: readonly LogEntry[], local: boolean): Promise<void> {
    const run = this.incoming.then(() => this.ingest(entries, local));
    this.incoming = run.catch((error) => this.ctx.onError(error, 'ingest', this.docId));
    return run;
  }

  private async ingest(entries: readonly LogEntry[], local: boolean): Promise<void> {
    if (this.state === 'closed') return;
    for (const entry of entries) {
      if (entry.seq > this.watermark && !this.ahead.has(entry.seq))
        this.ahead.set(entry.seq, { entry, local });
    }
    let highest = this.watermark;
    for (const seq of this.ahead.keys()) highest = Math.max(highest, seq);
    let gap = false;
    for (let seq = this.watermark + 1; seq <= highest && !gap; seq++) gap = !this.ahead.has(seq);
    if (gap || entries.length === 0) {
      const from = this.watermark + 1;
      const read = await this.ctx.log.read(
        this.docId,
        entries.length === 0 ? { from } : { from, to: highest },
      );
      let filled = 0;
      for (const entry of read) {
        if (entry.seq <= this.watermark || this.ahead.has(entry.seq)) continue;
        this.ahead.set(entry.seq, { entry, local: false });
        filled++;
      }
      if (filled > 0 && entries.length > 0) this.ctx.onGapFilled(this.docId, filled);
    }
    for (let next = this.ahead.get(this.watermark + 1); next; next = this.ahead.get(this.watermark + 1)) {
      this.ahead.delete(next.entry.seq);
      this.apply(next);
    }
  }

  /** Applies one entry to `doc` (and to the staging replica, unless it came from there). */
  private apply({ entry, local }: Arrival): void {
    this.watermark = entry.seq;
    if (Number.isFinite(this.ctx.maxDocumentBytes)) this.storedBytes += entry.payload.byteLength;
    const origin = new LogOrigin(entry.seq, entry.origin, local);
    const unreadable = (bad: LogEntry, error: unknown) =>
      this.ctx.onError(
        new YStateError({
          code: ErrorCode.CORRUPT_ENTRY,
          message: `entry ${bad.seq} of "${this.docId}" could not be fully integrated`,
          cause: error,
        }),
        'apply',
        this.docId,
      );
    const events = applyEntries(this.doc.ydoc, [entry], origin, unreadable);
    if (this.staged && !local) applyEntries(this.staged.ydoc, [entry], origin);
    if (this.durableListeners.size > 0) {
      const update = entry.kind === 'update' ? entry.payload : decodeLifecyclePayload(entry.payload).update;
      if (update) this.announce(update, entry.seq, entry.origin);
    }
    for (const event of events) {
      this.deliver(event);
      if (event.type === 'status' && event.path === '') {
        if (event.name === 'paused') this.setPaused(true);
        else if (event.name === 'resumed' && !local) this.release();
      }
    }
  }

  // --- pause ---

  /** Leaves the paused state: the updates that waited go to the log as one entry. */
  private release(): void {
    this.setPaused(false);
    const waiting = this.held.splice(0);
    if (waiting.length === 0) return;
    const origin = waiting.length === 1 ? (waiting[0]?.origin as string) : this.ctx.nodeId;
    const update =
      waiting.length === 1
        ? (waiting[0]?.update as Uint8Array)
        : Y.mergeUpdates(waiting.map((w) => w.update));
    let done: Promise<number>;
    try {
      done = this.take(update, origin, assertUpdate(update), undefined);
    } catch (error) {
      done = Promise.reject(error);
    }
    done.then(
      (seq) => {
        for (const w of waiting) w.done.resolve(seq);
      },
      (error) => {
        for (const w of waiting) w.done.reject(error);
      },
    );
  }

  private setPaused(paused: boolean): void {
    this.intake = paused ? 'paused' : 'open';
  }

  // --- notifications ---

  /** Every change of `doc` comes from a log entry: it carries that entry's seq and origin. */
  private readonly sequence = (change: Change, transaction: Y.Transaction): void => {
    const origin = transaction.origin;
    if (origin instanceof LogOrigin) {
      this.doc.emit({ ...change, origin: origin.origin, seq: origin.seq, local: origin.local });
    } else {
      this.doc.emit(change);
    }
  };

  /** `doc` changes only by log entries: anything else was written to `doc.ydoc` directly, bypassing the gate. */
  private readonly onDurableTransaction = (transaction: Y.Transaction): void => {
    if (transaction.origin instanceof LogOrigin || transaction.changed.size === 0) return;
    this.ctx.onError(
      new YStateError({
        code: ErrorCode.INVALID_UPDATE,
        message: `a change was made directly on the Y.Doc of "${this.docId}"; write through the engine`,
      }),
      'direct write',
      this.docId,
    );
  };

  /**
   * Announces an applied entry's update as durable (what a server broadcasts): the bytes the log
   * holds, so Yjs never encodes a transaction's update only to announce it.
   */
  private announce(update: Uint8Array, seq: number, origin: string): void {
    for (const listener of this.durableListeners) {
      try {
        listener(update, seq, origin);
      } catch (error) {
        this.ctx.onError(error, 'durable update listener', this.docId);
      }
    }
  }

  private deliver(event: RecordedLifecycleEvent): void {
    this.noteStatus(event);
    for (const listener of this.lifecycleListeners) {
      try {
        listener(event);
      } catch (error) {
        this.ctx.onError(error, 'lifecycle listener', this.docId);
      }
    }
  }

  private noteStatus(event: RecordedLifecycleEvent): void {
    if (event.type === 'status') this.statuses.set(event.path, event.name as LifecycleStatus);
  }
}

/** The origin id an entry records for a transaction origin: strings as they are, else this node. */
function originId(origin: unknown, nodeId: string): string {
  return typeof origin === 'string' ? origin : nodeId;
}

/** True for a lifecycle entry that resumes the document. */
export function isResumed(entry: LogEntry): boolean {
  const { event } = decodeLifecyclePayload(entry.payload);
  return event.type === 'status' && event.name === 'resumed' && event.path === '';
}
