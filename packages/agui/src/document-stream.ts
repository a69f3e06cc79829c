/**
 * One consumer of a document's changes as AG-UI events: a STATE_SNAPSHOT first, then a
 * STATE_DELTA per batch of committed changes, rebased onto the consumer's subtree. A fresh
 * STATE_SNAPSHOT replaces a delta when the subtree itself was replaced, removed or moved, when the
 * delta's JSON would be larger than the snapshot's, and when the consumer fell behind (its bounded
 * queue overflowed): the queue is dropped and the next event is a snapshot of the state by then.
 */

import { type BaseEvent, EventType } from '@ag-ui/core';
import { cloneJson, type Engine, type Json, type PatchOperation, parsePointer } from '@ystate/core';
import {
  acquireFeed,
  type DocumentFeed,
  type FeedBatch,
  type FeedHold,
  type FeedSubscriber,
} from './document-feed.js';
import { subtreePatch } from './subtree-patch.js';

export interface DocumentStreamOptions {
  /** A JSON Pointer: stream only the subtree there (default: the whole document). */
  path?: string;
  /** Events held for a slow consumer before it is resynchronised with a snapshot (default 256). */
  maxQueue?: number;
  /** Ends the stream. */
  signal?: AbortSignal;
  /**
   * Hand out the feed's operation values without copying them (only for consumers that serialise
   * events at once and never keep them, such as the HTTP routes).
   */
  shareValues?: boolean;
}

/** What ystate adds to the events it emits, under `metadata.ystate`. */
export interface YStateEventMetadata {
  docId: string;
  /** The log seq the state after this event reflects. */
  seq: number;
  /** The subtree streamed ('' = the whole document). */
  path: string;
}

/** Deltas at least this fraction of the estimated snapshot size are checked against the real size. */
const CHECK_RATIO = 0.25;

export class DocumentStream implements FeedSubscriber {
  private readonly queue: BaseEvent[] = [];
  private readonly segments: readonly string[];
  private readonly path: string;
  private readonly maxQueue: number;
  private readonly shareValues: boolean;
  private readonly waiters: (() => void)[] = [];
  private behind = false;
  private ended = false;
  /** The seq of the state the consumer has once it has taken everything queued. */
  private queuedSeq = 0;
  /** Estimated JSON length of the subtree (exact after each snapshot). */
  private snapshotBytes = 0;
  private readonly seqWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly onAbort = () => this.close();
  private readonly signal: AbortSignal | undefined;

  private readonly feed: DocumentFeed;

  private constructor(
    readonly docId: string,
    private readonly hold: FeedHold,
    options: DocumentStreamOptions,
  ) {
    this.feed = hold.feed;
    this.path = options.path ?? '';
    this.segments = parsePointer(this.path);
    this.maxQueue = Math.max(1, options.maxQueue ?? 256);
    this.shareValues = options.shareValues ?? false;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.signal = options.signal;
  }

  /** Opens a stream; its first event is a snapshot of the document (or subtree) now. */
  static async open(
    engine: Engine,
    docId: string,
    options: DocumentStreamOptions = {},
  ): Promise<DocumentStream> {
    if (options.path !== undefined) parsePointer(options.path);
    const hold = await acquireFeed(engine, docId);
    const stream = new DocumentStream(docId, hold, options);
    if (options.signal?.aborted) {
      stream.close();
      return stream;
    }
    const seq = hold.feed.subscribe(stream);
    if (!stream.ended) stream.enqueueSnapshot(seq);
    return stream;
  }

  /** The next event; `undefined` once the stream is closed. */
  async next(): Promise<BaseEvent | undefined> {
    while (!this.ended) {
      this.catchUp();
      const event = this.queue.shift();
      if (event !== undefined) return event;
      await this.ready();
    }
    return undefined;
  }

  /** True when `next` or `drain` would give an event (or the stream ended). */
  get hasEvents(): boolean {
    return this.queue.length > 0 || this.behind || this.ended;
  }

  /** Resolves once there is an event to take (or the stream ended), without taking it. */
  ready(): Promise<void> {
    if (this.hasEvents) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes whatever is queued without waiting. */
  drain(): BaseEvent[] {
    this.catchUp();
    return this.queue.splice(0);
  }

  /** Resolves once the stream has queued (not necessarily delivered) the state at `seq` or later. */
  untilQueued(seq: number): Promise<void> {
    this.feed.flush();
    if (this.queuedSeq >= seq || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.seqWaiters.push({ seq, resolve }));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Ends the stream: `next` resolves `undefined`, the feed is released. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.feed.unsubscribe(this);
    this.hold.release();
    this.wake();
    for (const waiter of this.seqWaiters.splice(0)) waiter.resolve();
  }

  onClose(): void {
    this.close();
  }

  onBatch(batch: FeedBatch): void {
    if (this.ended) return;
    if (this.behind) {
      // Dropped already; the snapshot taken on the next read covers this batch.
      this.markQueued(batch.seq);
      return;
    }
    const rebased = subtreePatch(batch.ops, this.segments);
    if (rebased.kind === 'snapshot') {
      this.enqueueSnapshot(batch.seq);
      return;
    }
    if (rebased.ops.length > 0) {
      const ops = this.shareValues ? rebased.ops : rebased.ops.map(copyOperation);
      const deltaBytes = JSON.stringify(ops).length;
      if (deltaBytes >= this.snapshotBytes * CHECK_RATIO) {
        const snapshot = this.currentValue();
        const snapshotBytes = JSON.stringify(snapshot).length;
        this.snapshotBytes = snapshotBytes;
        if (deltaBytes > snapshotBytes) {
          this.push(this.snapshotEvent(snapshot, batch.seq), batch.seq);
          return;
        }
      } else {
        this.snapshotBytes += growthOf(ops);
      }
      this.push({ type: EventType.STATE_DELTA, delta: ops, metadata: this.metadata(batch.seq) }, batch.seq);
      return;
    }
    this.markQueued(batch.seq);
  }

  /** After falling behind: a snapshot of the state now (at a batch boundary), which later deltas apply to. */
  private catchUp(): void {
    if (!this.behind || this.ended) return;
    const seq = this.feed.seq; // delivers the pending batch first; skipped while behind
    this.behind = false;
    this.enqueueSnapshot(seq);
  }

  private enqueueSnapshot(seq: number): void {
    const snapshot = this.currentValue();
    this.snapshotBytes = JSON.stringify(snapshot).length;
    this.queue.length = 0;
    this.push(this.snapshotEvent(snapshot, seq), seq);
  }

  private snapshotEvent(snapshot: Json, seq: number): BaseEvent {
    return { type: EventType.STATE_SNAPSHOT, snapshot, metadata: this.metadata(seq) };
  }

  /** The subtree now (null when nothing is there). Reads the mirror: call only at batch boundaries. */
  private currentValue(): Json {
    return this.feed.valueAt(this.path) ?? null;
  }

  private push(event: BaseEvent, seq: number): void {
    if (this.queue.length >= this.maxQueue) {
      // The consumer fell behind: drop what it has not taken, resynchronise with a snapshot.
      this.queue.length = 0;
      this.behind = true;
      this.markQueued(seq);
      this.wake();
      return;
    }
    this.queue.push(event);
    this.markQueued(seq);
    this.wake();
  }

  private markQueued(seq: number): void {
    this.queuedSeq = Math.max(this.queuedSeq, seq);
    this.resolveSeqWaiters();
  }

  private resolveSeqWaiters(): void {
    for (let i = this.seqWaiters.length - 1; i >= 0; i--) {
      const waiter = this.seqWaiters[i] as { seq: number; resolve: () => void };
      if (this.queuedSeq >= waiter.seq) {
        this.seqWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private metadata(seq: number): { ystate: YStateEventMetadata } {
    return { ystate: { docId: this.docId, seq, path: this.path } };
  }
}

function copyOperation(op: PatchOperation): PatchOperation {
  return 'value' in op ? { ...op, value: cloneJson(op.value) } : { ...op };
}

/** A rough growth of the subtree's JSON from a delta (removals are not known here and not counted). */
function growthOf(ops: readonly PatchOperation[]): number {
  let bytes = 0;
  for (const op of ops) {
    if (op.op === 'add' || op.op === 'replace') bytes += JSON.stringify(op.value).length + op.path.length;
  }
  return bytes;
}
