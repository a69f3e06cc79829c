/**
 * A document's changes on their way to the log. Changes queue in the order they were accepted;
 * the granularity decides which of them share an entry; one batch at a time goes to the node's
 * group commit, so the log receives them in order. A failure the log may recover from
 * (`isRetryable`) is retried, in order, with backoff; any other failure fails every queued change
 * with that error and is reported once, so the document can reload from its log.
 *
 *   idle ──add──▶ waiting (window) ──timer/full──▶ appending ──ok──▶ idle | appending
 *                                                     │  ▲
 *                                          retryable  ▼  │ timer
 *                                                   retrying
 *   appending ──non-retryable──▶ idle (every waiter rejected, onFailure called)
 */

import * as Y from 'yjs';
import { type Deferred, deferred } from './deferred.js';
import { isRetryable, type YStateError } from './errors.js';
import type { Granularity } from './granularity.js';
import { encodeLifecyclePayload, type LifecycleEvent } from './lifecycle.js';
import type { EntryInput, LogEntry } from './log-entry.js';

/** One accepted change waiting for the log. */
export interface QueuedChange {
  kind: 'update' | 'lifecycle';
  /** The Yjs update (for a lifecycle entry: the state change recorded with it, if any). */
  update: Uint8Array | undefined;
  event: LifecycleEvent | undefined;
  origin: string;
  /** Changes of one engine call share a group (`transaction` granularity merges a group). */
  group: number;
  time: number;
}

/** A stored entry with the changes it holds. */
export interface Committed {
  entry: LogEntry;
  changes: readonly QueuedChange[];
}

export interface WriteQueueOptions {
  granularity: Granularity;
  /** Appends one batch atomically (the node's group commit). */
  append: (entries: readonly EntryInput[]) => Promise<LogEntry[]>;
  /**
   * The batch is durable: its entries in order, with their changes, and the updates that
   * `lifecycle` granularity keeps out of the log (to be stored another way). Resolves with the seq
   * those unlogged updates are durable at.
   */
  onCommitted: (committed: readonly Committed[], unlogged: readonly QueuedChange[]) => Promise<number>;
  /** A non-retryable failure: every change queued was refused with `error`. */
  onFailure: (error: YStateError) => void;
  /** A retryable failure, reported on each attempt (the queue retries by itself). */
  onRetry: (error: YStateError) => void;
}

type Phase = 'idle' | 'waiting' | 'appending' | 'retrying';

interface Waiting {
  change: QueuedChange;
  done: Deferred<number>;
}

/** Most changes one append carries; a longer queue goes out in several appends. */
const MAX_BATCH = 512;
const MAX_RETRY_DELAY_MS = 2000;

export class WriteQueue {
  private phase: Phase = 'idle';
  private readonly queue: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs = 0;
  private lastError: YStateError | undefined;
  private settled: Deferred<void> | undefined;
  private closed = false;

  constructor(private readonly options: WriteQueueOptions) {}

  /** Changes accepted and not yet durable. */
  get size(): number {
    return this.queue.length;
  }

  /** The error of the last failed attempt while the queue retries, else undefined. */
  get retryError(): YStateError | undefined {
    return this.phase === 'retrying' ? this.lastError : undefined;
  }

  /** Queues a change; resolves with the seq of the entry that holds it once that entry is applied. */
  add(change: QueuedChange): Promise<number> {
    const done = deferred<number>();
    this.queue.push({ change, done });
    if (this.phase === 'idle' || this.phase === 'waiting') this.schedule();
    return done.promise;
  }

  /** Resolves once the queue is empty; rejects with the failure while the log is unreachable. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      if (this.phase === 'waiting' || this.phase === 'retrying') {
        const retrying = this.phase === 'retrying';
        clearTimeout(this.timer);
        this.timer = undefined;
        void this.appendNext();
        if (retrying) {
          await this.whenSettled();
          if (this.phase === 'retrying' && this.lastError) throw this.lastError;
          continue;
        }
      }
      await this.whenSettled();
    }
  }

  /** Stops timers; queued changes stay unresolved (the document is going away). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const { granularity } = this.options;
    if (granularity.mode === 'window' && this.queue.length < MAX_BATCH) {
      if (this.phase === 'idle') {
        this.phase = 'waiting';
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.appendNext();
        }, granularity.windowMs);
      }
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.appendNext();
  }

  private whenSettled(): Promise<void> {
    this.settled ??= deferred<void>();
    return this.settled.promise;
  }

  private settle(): void {
    const settled = this.settled;
    this.settled = undefined;
    settled?.resolve();
  }

  /** Appends the head of the queue, then whatever queued meanwhile, until the queue is empty. */
  private async appendNext(): Promise<void> {
    if (this.phase === 'appending' || this.closed) return;
    this.phase = 'appending';
    // Let the rest of this turn queue its changes too: they go out in the same append.
    await Promise.resolve();
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, MAX_BATCH);
      const groups = groupForEntries(batch, this.options.granularity);
      let stored: LogEntry[];
      try {
        stored = groups.length > 0 ? await this.options.append(groups.map(toEntry)) : [];
      } catch (error) {
        this.fail(error as YStateError);
        return;
      }
      this.queue.splice(0, batch.length);
      this.retryDelayMs = 0;
      this.lastError = undefined;
      const committed = stored.map((entry, i) => ({ entry, groupOf: groups[i] as Waiting[] }));
      const unlogged =
        this.options.granularity.mode === 'lifecycle' ? batch.filter((w) => w.change.kind === 'update') : [];
      let unloggedSeq: number;
      try {
        unloggedSeq = await this.options.onCommitted(
          committed.map(({ entry, groupOf }) => ({ entry, changes: groupOf.map((w) => w.change) })),
          unlogged.map((w) => w.change),
        );
      } catch (error) {
        // The entries are durable; what failed is storing the unlogged state (a checkpoint).
        for (const { entry, groupOf } of committed) for (const w of groupOf) w.done.resolve(entry.seq);
        this.queue.unshift(...unlogged);
        this.fail(error as YStateError);
        return;
      }
      for (const { entry, groupOf } of committed) for (const w of groupOf) w.done.resolve(entry.seq);
      for (const w of unlogged) w.done.resolve(unloggedSeq);
    }
    this.phase = 'idle';
    this.settle();
  }

  private fail(error: YStateError): void {
    this.lastError = error;
    if (isRetryable(error)) {
      // Every change in the queue was accepted: it must still reach the log, in order.
      this.phase = 'retrying';
      this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(50, this.retryDelayMs * 2));
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.phase = 'idle';
        void this.appendNext();
      }, this.retryDelayMs);
      // Retrying must not keep a process alive that is otherwise done.
      (this.timer as { unref?: () => void }).unref?.();
      this.options.onRetry(error);
      this.settle();
      return;
    }
    // Later changes may build on the refused ones (they share the writer's Yjs clocks): all go.
    const refused = this.queue.splice(0);
    this.phase = 'idle';
    this.retryDelayMs = 0;
    for (const w of refused) w.done.reject(error);
    this.options.onFailure(error);
    this.settle();
  }
}

/** Splits a batch into the groups that each become one entry, per the granularity. */
function groupForEntries(batch: readonly Waiting[], granularity: Granularity): Waiting[][] {
  const groups: Waiting[][] = [];
  for (const waiting of batch) {
    const change = waiting.change;
    if (granularity.mode === 'lifecycle' && change.kind === 'update') continue;
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1]?.change;
    const mergeable =
      previous !== undefined &&
      change.kind === 'update' &&
      previous.kind === 'update' &&
      previous.origin === change.origin &&
      ((granularity.mode === 'transaction' && previous.group === change.group) ||
        granularity.mode === 'window');
    if (mergeable) last?.push(waiting);
    else groups.push([waiting]);
  }
  return groups;
}

function toEntry(group: readonly Waiting[]): EntryInput {
  const first = (group[0] as Waiting).change;
  const entry = { time: first.time, origin: first.origin, flags: 0 };
  if (first.kind === 'lifecycle') {
    return {
      ...entry,
      kind: 'lifecycle',
      payload: encodeLifecyclePayload(first.event as LifecycleEvent, first.update),
    };
  }
  const updates = group.map((w) => w.change.update as Uint8Array);
  // A handful of updates merge cheaply (batches are capped); merging thousands would be super-linear.
  return {
    ...entry,
    kind: 'update',
    payload: updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates),
  };
}
