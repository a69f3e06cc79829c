/**
 * One consumer of a document's changes as AG-UI events: a STATE_SNAPSHOT first, then a
 * STATE_DELTA per batch of committed changes, rebased onto the consumer's subtree. A fresh
 * STATE_SNAPSHOT replaces a delta when the subtree itself was replaced, removed or moved, when the
 * delta's JSON would be larger than the snapshot's, and when the consumer fell behind (its bounded
 * queue overflowed): the queue is dropped and the next event is a snapshot of the state by then.
 *
 * A stream may RESUME from a seq the consumer already has (`since`): instead of the snapshot it
 * starts with one STATE_DELTA of everything the log holds after that seq (replayed from the log,
 * rebased onto the subtree as live deltas are), then continues live. The live batches that arrive
 * while the log is read are held and follow the replayed delta, so nothing is lost or repeated at
 * the seam. When the log no longer holds that history (pruned), when the consumer claims a seq this
 * node has not reached, or when the replayed delta would be larger than a snapshot or cannot be
 * expressed for the subtree, the stream starts with a snapshot of the state now instead.
 */

import { type BaseEvent, EventType } from '@ag-ui/core';
import { type Engine, type PatchOperation, parsePointer } from '@ystate/core';
import { coalescePatch } from './coalesce-patch.js';
import {
  acquireFeed,
  type DocumentFeed,
  type FeedBatch,
  type FeedHold,
  type FeedSubscriber,
} from './document-feed.js';
import { acquireView, type StreamView, type ViewHold } from './stream-view.js';

export type { YStateEventMetadata } from './stream-view.js';

/** Options of a document's AG-UI event stream (`documentEvents`, the HTTP routes). */
export interface DocumentStreamOptions {
  /** A JSON Pointer: stream only the subtree there (default: the whole document). */
  path?: string;
  /** Events held for a slow consumer before it is resynchronised with a snapshot (default 256). */
  maxQueue?: number;
  /** Ends the stream. */
  signal?: AbortSignal;
  /**
   * Share events with the other such streams of the same subtree: one event object per batch (and
   * per snapshot at a seq), holding the feed's own values, whose wire encoding is built once. Only
   * for consumers that serialise events and never modify them, such as the HTTP routes.
   */
  shareValues?: boolean;
  /**
   * Resume: the seq of the state the consumer already has (the `id` of the last event it took).
   * The stream starts with the changes after it instead of a snapshot (see above).
   */
  since?: number;
}

/** A resume replays at most this many operations from the log; beyond, a snapshot is cheaper. */
const MAX_RESUME_OPS = 10_000;

export class DocumentStream implements FeedSubscriber {
  private readonly queue: BaseEvent[] = [];
  private readonly maxQueue: number;
  private readonly waiters: (() => void)[] = [];
  private behind = false;
  private ended = false;
  /** The seq of the state the consumer has once it has taken everything queued. */
  private queuedSeq = 0;
  private readonly seqWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly onAbort = () => this.close();
  /** While a resume reads the log: the live batches' events (undefined: none), in order. */
  private held: { event: BaseEvent | undefined; seq: number }[] | undefined;
  /** More live batches arrived while resuming than the queue may hold. */
  private heldOverflow = false;
  private readonly signal: AbortSignal | undefined;

  private readonly feed: DocumentFeed;
  private readonly viewHold: ViewHold;
  private readonly view: StreamView;

  private constructor(
    readonly docId: string,
    private readonly hold: FeedHold,
    options: DocumentStreamOptions,
  ) {
    this.feed = hold.feed;
    this.viewHold = acquireView(hold.feed, options.path ?? '', options.shareValues ?? false);
    this.view = this.viewHold.view;
    this.maxQueue = Math.max(1, options.maxQueue ?? 256);
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
    if (stream.ended) return stream;
    if (options.since === undefined) stream.enqueueSnapshot(seq);
    else stream.resume(engine, options.since, seq);
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
    this.viewHold.release();
    this.hold.release();
    this.wake();
    for (const waiter of this.seqWaiters.splice(0)) waiter.resolve();
  }

  onClose(): void {
    this.close();
  }

  onBatch(batch: FeedBatch): void {
    if (this.ended) return;
    if (this.held !== undefined) {
      // Resuming: the event is made now (a snapshot must be of the state at this batch), sent later.
      // More than the queue may hold: the resume ends with a snapshot instead (see `resumed`).
      if (this.held.length >= this.maxQueue) this.heldOverflow = true;
      if (this.heldOverflow) this.held.length = 0;
      else this.held.push({ event: this.view.eventFor(batch), seq: batch.seq });
      return;
    }
    if (this.behind) {
      // Dropped already; the snapshot taken on the next read covers this batch.
      this.markQueued(batch.seq);
      return;
    }
    const event = this.view.eventFor(batch);
    if (event === undefined) {
      this.markQueued(batch.seq);
      return;
    }
    // A snapshot makes whatever the consumer has not taken yet obsolete.
    if (event.type === EventType.STATE_SNAPSHOT) this.queue.length = 0;
    this.push(event, batch.seq);
  }

  /**
   * Starts the stream at `since` (the consumer's seq) when the subscription started at `seq`: reads
   * the log's changes in between while holding live batches, then queues them and the held ones;
   * or, when that cannot be done, a snapshot of the state by then.
   */
  private resume(engine: Engine, since: number, seq: number): void {
    if (since === seq) {
      this.markQueued(seq);
      return;
    }
    if (since > seq) {
      // The consumer has a state this node's feed has not reached: a snapshot of what this node has.
      this.fallBehind();
      return;
    }
    this.held = [];
    changesSince(engine, this.docId, since, seq).then(
      (ops) => this.resumed(ops, seq),
      () => this.resumed(undefined, seq),
    );
  }

  /** The replayed operations (undefined: not available) arrived: queue them, then what was held. */
  private resumed(ops: PatchOperation[] | undefined, seq: number): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (this.ended) return;
    const event = ops === undefined || this.heldOverflow ? 'snapshot' : this.view.resumeEvent(ops, seq);
    if (event === 'snapshot') {
      this.fallBehind();
      return;
    }
    if (event === undefined) this.markQueued(seq);
    else this.push(event, seq);
    for (const entry of held) {
      if (this.behind) break;
      if (entry.event === undefined) this.markQueued(entry.seq);
      else {
        if (entry.event.type === EventType.STATE_SNAPSHOT) this.queue.length = 0;
        this.push(entry.event, entry.seq);
      }
    }
  }

  /** The next event the consumer takes is a snapshot of the state by then. */
  private fallBehind(): void {
    this.queue.length = 0;
    this.behind = true;
    this.wake();
  }

  /** After falling behind: a snapshot of the state now (at a batch boundary), which later deltas apply to. */
  private catchUp(): void {
    if (!this.behind || this.ended) return;
    const seq = this.feed.seq; // delivers the pending batch first; skipped while behind
    this.behind = false;
    this.enqueueSnapshot(seq);
  }

  private enqueueSnapshot(seq: number): void {
    this.queue.length = 0;
    this.push(this.view.snapshot(seq), seq);
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
}

/**
 * The operations that turn the document at `since` into the document at `to`, coalesced, read from
 * the log; rejects when the log no longer holds them (HISTORY_PRUNED) or they are too many.
 */
async function changesSince(
  engine: Engine,
  docId: string,
  since: number,
  to: number,
): Promise<PatchOperation[]> {
  const ops: PatchOperation[] = [];
  for await (const step of engine.replay(docId, { from: since + 1, to })) {
    for (const op of step.patch) ops.push(op);
    if (ops.length > MAX_RESUME_OPS) throw new Error('too many operations to replay');
  }
  return coalescePatch(ops);
}
