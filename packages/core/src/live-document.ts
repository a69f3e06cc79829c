/**
 * One open document on one node, bound to its log and bus: local changes queue for the log
 * (group commit: whatever queued while an append was in flight goes out in the next one), change
 * notifications leave in transaction order carrying their seq, entries from other nodes are applied
 * in seq order with gaps filled from the log, and pause/resume buffers what comes in.
 */

import * as Y from 'yjs';
import { type Deferred, deferred } from './deferred.js';
import { ErrorCode, isYStateError, YStateError } from './errors.js';
import type { Granularity } from './granularity.js';
import { applyEntries, buildCheckpoint, LogOrigin, loadInto } from './history.js';
import {
  decodeLifecyclePayload,
  encodeLifecyclePayload,
  type LifecycleEvent,
  type LifecycleStatus,
  type RecordedLifecycleEvent,
} from './lifecycle.js';
import type { EntryInput, LogEntry } from './log-entry.js';
import { compilePattern } from './path-pattern.js';
import { parsePointer } from './pointer.js';
import { SeqTracker } from './seq-tracker.js';
import { type Change, type DocumentWriter, StateDocument } from './state-document.js';
import { addsNothing } from './update-check.js';
import type { SyncBus, UpdateLog } from './update-log.js';

/** What a live document needs from the engine that owns it. */
export interface LiveDocumentContext {
  log: UpdateLog;
  bus: SyncBus | undefined;
  nodeId: string;
  granularity: Granularity;
  checkpointEvery: { entries: number; bytes: number; sizeFraction: number };
  /** Keep at least this many entries before the latest checkpoint when pruning (Infinity: never prune). */
  retainEntries: number;
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

export type LifecycleListener = (event: RecordedLifecycleEvent) => void;

/** Receives each Yjs update once the log holds it, with its seq and origin (what a server broadcasts). */
export type DurableUpdateListener = (update: Uint8Array, seq: number, origin: string) => void;

/** A change waiting for the log. */
interface Pending {
  kind: 'update' | 'lifecycle';
  update: Uint8Array | undefined;
  event?: LifecycleEvent;
  origin: string;
  /** Pending changes of one engine call share a group (`transaction` granularity merges a group). */
  group: number;
  time: number;
  slot: Slot | undefined;
  done: Deferred<number>;
}

/** A change notification waiting for its turn (and its seq). */
interface Slot {
  change: Change;
  seq?: number;
  ready: boolean;
}

/** Most changes one append carries; a longer queue goes out in several appends. */
const MAX_BATCH = 512;
const MAX_RETRY_DELAY_MS = 2000;

export class LiveDocument {
  readonly doc: StateDocument;
  private tracker = new SeqTracker();
  private queue: Pending[] = [];
  private pumping: Promise<void> | undefined;
  private windowTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private appendError: YStateError | undefined;
  private readonly slots: Slot[] = [];
  private draining = false;
  private readonly slotOf = new WeakMap<Y.Transaction, Slot>();
  private nextGroup = 0;
  private currentGroup: number | undefined;
  private collecting: Pending[] | undefined;
  private capturing: Pending | undefined;
  private paused = false;
  /** Updates received while paused, in order, with whoever waits for their seq. */
  private readonly pausedUpdates: { update: Uint8Array; origin: string; done: Deferred<number> }[] = [];
  private readonly pausedEntries: LogEntry[] = [];
  private incoming: Promise<void> = Promise.resolve();
  private readonly sinceCheckpoint = { entries: 0, bytes: 0 };
  /** The payload size of the latest checkpoint (loaded or stored), which spaces the next one. */
  private checkpointBytes = 0;
  private checkpointing: Promise<void> | undefined;
  private readonly statuses = new Map<string, LifecycleStatus>();
  private readonly lifecycleListeners = new Set<LifecycleListener>();
  private readonly durableListeners = new Set<DurableUpdateListener>();
  private stopBus: (() => Promise<void>) | undefined;
  private disposed = false;

  private constructor(
    readonly docId: string,
    private readonly ctx: LiveDocumentContext,
  ) {
    const options: ConstructorParameters<typeof StateDocument>[1] = { sequencer: this.sequence };
    if (ctx.onListenerError) options.onListenerError = ctx.onListenerError;
    this.doc = new StateDocument(docId, options);
  }

  /** Opens a document: subscribes to its bus channel, then loads it from the log. */
  static async open(docId: string, ctx: LiveDocumentContext): Promise<LiveDocument> {
    const live = new LiveDocument(docId, ctx);
    const loaded = deferred<void>();
    // Entries published while loading wait until the load is done, then fill in from the log.
    live.incoming = loaded.promise;
    try {
      if (ctx.bus) live.stopBus = await ctx.bus.subscribe(docId, (entries) => live.receiveEntries(entries));
      const head = await loadInto(ctx.log, docId, live.doc.ydoc, {
        chunk: ctx.loadChunk,
        onCheckpoint: (checkpoint) => {
          live.checkpointBytes = checkpoint.payload.byteLength;
        },
        onEvents: (events) => {
          for (const event of events) live.noteStatus(event);
        },
      });
      live.tracker = new SeqTracker(head);
      if (live.statuses.get('') === 'paused') live.setPaused(true);
      live.doc.ydoc.on('update', live.onUpdate);
      loaded.resolve();
      return live;
    } catch (error) {
      await live.dispose();
      throw error;
    }
  }

  /** The highest seq this node has applied with nothing missing below it. */
  get seq(): number {
    return this.tracker.watermark;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The status of the object at `path` ('' = the document), from its lifecycle events. */
  statusOf(path = ''): LifecycleStatus | undefined {
    return this.statuses.get(path);
  }

  /**
   * Runs `fn` against the document (writes through the path API, `applyPatch`, …) and resolves
   * once every change it made is durable, with the seq of the last entry holding them.
   */
  async change<T>(fn: (doc: StateDocument) => T): Promise<{ seq: number; result: T }> {
    const collected: Pending[] = [];
    this.currentGroup = ++this.nextGroup;
    this.collecting = collected;
    let result: T;
    try {
      result = fn(this.doc);
    } finally {
      this.currentGroup = undefined;
      this.collecting = undefined;
    }
    if (collected.length === 0) return { seq: this.tracker.watermark, result };
    const seqs = await Promise.all(collected.map((p) => p.done.promise));
    return { seq: Math.max(...seqs), result };
  }

  /** Writes through the path API as one transaction; resolves once durable. */
  write<T>(fn: (tx: DocumentWriter) => T, origin: string): Promise<{ seq: number; result: T }> {
    return this.change((doc) => doc.batch(fn, origin));
  }

  /**
   * Takes a Yjs update from a client. It is integrated into the document (an update Yjs cannot
   * integrate is refused with INVALID_UPDATE, and only what Yjs did integrate is logged), appended
   * to the log, and only then acknowledged and announced as durable. An update that adds nothing
   * logs nothing. While the document is paused it waits, in order, for `resume`.
   */
  async receive(update: Uint8Array, origin: string): Promise<number> {
    // addsNothing decodes the update, refusing a malformed one with INVALID_UPDATE.
    if (addsNothing(this.doc.ydoc, update)) return this.tracker.watermark;
    if (this.paused) {
      const done = deferred<number>();
      this.pausedUpdates.push({ update, origin, done });
      return done.promise;
    }
    const { seq } = await this.change((doc) => integrate(doc.ydoc, [update], origin));
    return seq;
  }

  /** Records a lifecycle event, with the state changes `change` makes in the same transaction. */
  record(event: LifecycleEvent, origin: string, change?: (tx: DocumentWriter) => void): Promise<number> {
    const pending = this.pending('lifecycle', undefined, origin);
    pending.event = event;
    if (change) {
      this.capturing = pending;
      try {
        this.doc.batch(change, origin);
      } finally {
        this.capturing = undefined;
      }
    }
    if (event.type === 'status' && event.path === '' && event.name === 'paused') this.setPaused(true);
    this.enqueue(pending);
    return pending.done.promise;
  }

  /** Pauses the document: incoming updates wait in order, writes through the API are refused. */
  pause(origin: string): Promise<number> {
    return this.record({ type: 'status', name: 'paused', path: '' }, origin);
  }

  /** Resumes the document: records `resumed`, then applies everything that waited as one batch. */
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
    this.incoming = this.incoming
      .then(() => this.ingest(entries))
      .catch((error) => this.ctx.onError(error, 'ingest', this.docId));
  }

  /** Reads whatever the log has beyond what this node applied (after a bus reconnect, say). */
  catchUp(): Promise<void> {
    this.receiveEntries([]);
    return this.incoming;
  }

  /** Resolves once every queued change is durable and every received entry applied. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.pumping || this.windowTimer) {
      // Waiting for a window or a retry: try now.
      if (this.windowTimer || this.retryTimer) {
        clearTimeout(this.windowTimer);
        clearTimeout(this.retryTimer);
        this.windowTimer = undefined;
        this.retryTimer = undefined;
        void this.pump();
      }
      await this.pumping;
      // The log is down: say so rather than wait for it (the retries go on in the background).
      if (this.queue.length > 0 && this.retryTimer !== undefined && this.appendError) throw this.appendError;
    }
    await this.incoming;
    await this.checkpointing;
  }

  /** Stops listening to the bus and the document (the registry destroys the document). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.windowTimer);
    clearTimeout(this.retryTimer);
    this.doc.ydoc.off('update', this.onUpdate);
    await this.stopBus?.();
  }

  // --- local changes → log ---

  private readonly onUpdate = (
    update: Uint8Array,
    origin: unknown,
    _ydoc: Y.Doc,
    transaction: Y.Transaction,
  ) => {
    if (origin instanceof LogOrigin) {
      this.announceDurable(update, origin.seq, origin.origin);
      return;
    }
    const slot = this.slotOf.get(transaction);
    if (this.capturing) {
      this.capturing.update = update;
      this.capturing.slot = slot;
      return;
    }
    const pending = this.pending('update', update, originId(origin, this.ctx.nodeId));
    pending.slot = slot;
    this.enqueue(pending);
  };

  private pending(kind: Pending['kind'], update: Uint8Array | undefined, origin: string): Pending {
    const pending: Pending = {
      kind,
      update,
      origin,
      group: this.currentGroup ?? ++this.nextGroup,
      time: Date.now(),
      slot: undefined,
      done: deferred<number>(),
    };
    this.collecting?.push(pending);
    return pending;
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    const { granularity } = this.ctx;
    if (granularity.mode === 'window' && this.queue.length < MAX_BATCH) {
      this.windowTimer ??= setTimeout(() => {
        this.windowTimer = undefined;
        void this.pump();
      }, granularity.windowMs);
      return;
    }
    void this.pump();
  }

  private pump(): Promise<void> {
    this.pumping ??= (async () => {
      try {
        // Let the rest of this turn queue its changes too: they go out in the same append.
        await Promise.resolve();
        while (this.queue.length > 0 && !this.disposed && this.retryTimer === undefined) {
          await this.commit(this.queue.splice(0, MAX_BATCH));
        }
      } finally {
        this.pumping = undefined;
      }
    })();
    return this.pumping;
  }

  /** Appends one batch, then applies what waited for durability and releases notifications. */
  private async commit(batch: Pending[]): Promise<void> {
    const logsUpdates = this.ctx.granularity.mode !== 'lifecycle';
    const logged = logsUpdates ? batch : batch.filter((p) => p.kind === 'lifecycle');
    const groups = groupForEntries(logged, this.ctx.granularity);
    let stored: LogEntry[];
    try {
      stored = groups.length > 0 ? await this.ctx.log.append(this.docId, groups.map(toEntry)) : [];
      if (!logsUpdates && logged.length < batch.length) await this.storeState();
    } catch (cause) {
      const error = isYStateError(cause)
        ? cause
        : new YStateError({
            code: ErrorCode.LOG_UNAVAILABLE,
            message: `appending to "${this.docId}" failed`,
            cause,
          });
      for (const p of batch) p.done.reject(error);
      this.ctx.onError(error, 'append', this.docId);
      // A refusal (an entry this store cannot hold) would fail again: only an unreachable log is retried.
      if (error.code !== ErrorCode.LOG_UNAVAILABLE) return;
      // Every change in the batch is in the document already: it must still reach the log.
      const retry = batch.map((p) => ({ ...p, done: deferred<number>() }));
      this.queue.unshift(...retry);
      this.appendError = error;
      this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(50, this.retryDelayMs * 2));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.pump();
      }, this.retryDelayMs);
      // Retrying must not keep a process alive that is otherwise done.
      (this.retryTimer as { unref?: () => void }).unref?.();
      return;
    }
    this.retryDelayMs = 0;
    this.appendError = undefined;
    const waiting: { pending: Pending; seq: number }[] = [];
    const events: RecordedLifecycleEvent[] = [];
    stored.forEach((entry, i) => {
      this.tracker.add(entry.seq);
      for (const pending of groups[i] as Pending[]) {
        waiting.push({ pending, seq: entry.seq });
        if (pending.event)
          events.push({ ...pending.event, seq: entry.seq, time: entry.time, origin: entry.origin });
      }
    });
    for (const pending of batch) {
      if (!waiting.some((w) => w.pending === pending)) waiting.push({ pending, seq: this.tracker.watermark });
    }
    for (const { pending, seq } of waiting) {
      if (pending.slot) {
        pending.slot.ready = true;
        if (logsUpdates || pending.kind === 'lifecycle') pending.slot.seq = seq;
      }
    }
    this.drain();
    for (const { pending, seq } of waiting) {
      if (pending.update) this.announceDurable(pending.update, seq, pending.origin);
    }
    for (const event of events) this.deliver(event);
    for (const { pending, seq } of waiting) pending.done.resolve(seq);
    if (stored.length > 0) this.afterAppend(stored);
  }

  /** `lifecycle` granularity keeps state out of the log: it is stored as a checkpoint instead. */
  private async storeState(): Promise<void> {
    if (this.tracker.watermark === 0) {
      // A checkpoint names the entry it follows: a document's first is its `created` event.
      const created: LifecycleEvent = { type: 'status', name: 'created', path: '' };
      const payload = encodeLifecyclePayload(created);
      const [entry] = await this.ctx.log.append(this.docId, [
        { kind: 'lifecycle', time: Date.now(), origin: this.ctx.nodeId, flags: 0, payload },
      ]);
      if (entry) {
        this.tracker.add(entry.seq);
        this.deliver({ ...created, seq: entry.seq, time: entry.time, origin: entry.origin });
      }
    }
    await this.ctx.log.storeCheckpoint(this.docId, {
      kind: 'checkpoint',
      seq: this.tracker.watermark,
      time: Date.now(),
      origin: this.ctx.nodeId,
      flags: 0,
      payload: Y.encodeStateAsUpdate(this.doc.ydoc),
    });
  }

  private afterAppend(stored: readonly LogEntry[]): void {
    this.ctx.onAppended?.(this.docId, stored);
    if (!this.ctx.log.publishesAppends) {
      this.ctx.bus
        ?.publish(this.docId, stored)
        .catch((error) => this.ctx.onError(error, 'publish', this.docId));
    }
    if (this.ctx.granularity.mode === 'lifecycle') return;
    this.sinceCheckpoint.entries += stored.length;
    for (const entry of stored) this.sinceCheckpoint.bytes += entry.payload.byteLength;
    const { entries, bytes, sizeFraction } = this.ctx.checkpointEvery;
    const since = this.sinceCheckpoint;
    if (this.checkpointing || (since.entries < entries && since.bytes < bytes)) return;
    if (since.bytes < this.checkpointBytes * sizeFraction) return;
    this.sinceCheckpoint.entries = 0;
    this.sinceCheckpoint.bytes = 0;
    this.checkpointing = this.checkpoint(this.tracker.watermark)
      .catch((error) => this.ctx.onError(error, 'checkpoint', this.docId))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Stores a checkpoint at `seq` built from the log, then prunes what the retention bound allows. */
  private async checkpoint(seq: number): Promise<void> {
    const { log, nodeId, retainEntries } = this.ctx;
    const checkpoint = await buildCheckpoint(log, this.docId, seq, nodeId);
    await log.storeCheckpoint(this.docId, checkpoint);
    this.checkpointBytes = checkpoint.payload.byteLength;
    if (!Number.isFinite(retainEntries)) return;
    const oldest = await log.latestCheckpoint(this.docId, seq - retainEntries);
    if (oldest) await log.prune(this.docId, oldest.seq + 1);
  }

  // --- notifications, in transaction order ---

  private readonly sequence = (change: Change, transaction: Y.Transaction): void => {
    const origin = transaction.origin;
    const slot: Slot =
      origin instanceof LogOrigin
        ? { change: { ...change, origin: origin.origin }, seq: origin.seq, ready: true }
        : { change, ready: false };
    this.slots.push(slot);
    this.slotOf.set(transaction, slot);
    this.drain();
  };

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.slots[0]?.ready) {
        const slot = this.slots.shift() as Slot;
        this.doc.emit(slot.seq === undefined ? slot.change : { ...slot.change, seq: slot.seq });
      }
    } finally {
      this.draining = false;
    }
  }

  // --- entries from other nodes ---

  private async ingest(entries: readonly LogEntry[]): Promise<void> {
    if (this.disposed) return;
    let fresh = entries.filter((e) => !this.tracker.has(e.seq));
    const highest = Math.max(this.tracker.watermark, ...fresh.map((e) => e.seq));
    const arrived = new Set(fresh.map((e) => e.seq));
    let gap = false;
    for (let seq = this.tracker.watermark + 1; seq <= highest && !gap; seq++) {
      gap = !this.tracker.has(seq) && !arrived.has(seq);
    }
    if (gap || entries.length === 0) {
      // The bus is only the fast path: the log is the truth.
      const from = this.tracker.watermark + 1;
      const to = entries.length === 0 ? undefined : highest;
      fresh = (await this.ctx.log.read(this.docId, to === undefined ? { from } : { from, to })).filter(
        (e) => !this.tracker.has(e.seq),
      );
      const filled = fresh.filter((e) => !arrived.has(e.seq)).length;
      if (filled > 0) this.ctx.onGapFilled(this.docId, filled);
    }
    fresh.sort((a, b) => a.seq - b.seq);
    if (fresh.length === 0) return;
    if (this.paused) {
      this.holdWhilePaused(fresh);
      return;
    }
    this.applyEntries(fresh);
  }

  private applyEntries(entries: readonly LogEntry[]): void {
    const events = applyEntries(this.doc.ydoc, entries);
    for (const entry of entries) this.tracker.add(entry.seq);
    for (const event of events) {
      this.deliver(event);
      if (event.type === 'status' && event.path === '' && event.name === 'paused') this.setPaused(true);
    }
  }

  /** While paused, entries wait; a `resumed` among them (another node resumed) releases them. */
  private holdWhilePaused(entries: readonly LogEntry[]): void {
    this.pausedEntries.push(...entries);
    for (const entry of entries) this.tracker.add(entry.seq);
    const resumed = entries.some((e) => e.kind === 'lifecycle' && isResumed(e));
    if (resumed) this.release();
  }

  /** Leaves the paused state: what waited is applied as one batch. */
  private release(): void {
    this.setPaused(false);
    const entries = this.pausedEntries.splice(0);
    if (entries.length > 0) {
      const events = applyEntries(this.doc.ydoc, entries);
      for (const event of events) this.deliver(event);
    }
    const waiting = this.pausedUpdates.splice(0);
    if (waiting.length === 0) return;
    // Updates received while paused are applied as one batch: one transaction, one entry.
    const origin = waiting.length === 1 ? (waiting[0]?.origin as string) : this.ctx.nodeId;
    this.change((doc) =>
      integrate(
        doc.ydoc,
        waiting.map((w) => w.update),
        origin,
      ),
    ).then(
      ({ seq }) => {
        for (const w of waiting) w.done.resolve(seq);
      },
      (error) => {
        for (const w of waiting) w.done.reject(error);
      },
    );
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.doc.setWritesPaused(paused);
  }

  private announceDurable(update: Uint8Array, seq: number, origin: string): void {
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

/** Splits a batch into the groups that each become one entry, per the granularity. */
function groupForEntries(batch: readonly Pending[], granularity: Granularity): Pending[][] {
  const groups: Pending[][] = [];
  for (const pending of batch) {
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1];
    const mergeable =
      previous !== undefined &&
      pending.kind === 'update' &&
      previous.kind === 'update' &&
      previous.origin === pending.origin &&
      ((granularity.mode === 'transaction' && previous.group === pending.group) ||
        granularity.mode === 'window');
    if (mergeable) last?.push(pending);
    else groups.push([pending]);
  }
  return groups;
}

function toEntry(group: readonly Pending[]): EntryInput {
  const first = group[0] as Pending;
  const entry = { time: first.time, origin: first.origin, flags: 0 };
  if (first.kind === 'lifecycle') {
    return {
      ...entry,
      kind: 'lifecycle',
      payload: encodeLifecyclePayload(first.event as LifecycleEvent, first.update),
    };
  }
  const updates = group.map((p) => p.update as Uint8Array);
  // A handful of updates merge cheaply (batches are capped); merging thousands would be super-linear.
  return {
    ...entry,
    kind: 'update',
    payload: updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates),
  };
}

function isResumed(entry: LogEntry): boolean {
  const { event } = decodeLifecyclePayload(entry.payload);
  return event.type === 'status' && event.name === 'resumed' && event.path === '';
}

/**
 * Integrates updates into a document in one transaction with `origin`. Yjs reports what it did
 * integrate as the transaction's update even when a malformed update throws part-way, so the log
 * always holds exactly what the document holds; the caller gets INVALID_UPDATE.
 */
function integrate(ydoc: Y.Doc, updates: readonly Uint8Array[], origin: string): void {
  try {
    ydoc.transact(() => {
      for (const update of updates) Y.applyUpdate(ydoc, update);
    }, origin);
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_UPDATE,
      message: 'Yjs could not integrate the update',
      cause,
    });
  }
}

/** The origin id an entry records for a transaction origin: strings as they are, else this node. */
function originId(origin: unknown, nodeId: string): string {
  return typeof origin === 'string' ? origin : nodeId;
}
