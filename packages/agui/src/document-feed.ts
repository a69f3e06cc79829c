/**
 * One feed per open document and engine, shared by every event stream of that document on this
 * node. It reads the live document itself: the engine's document holds exactly the log up to its
 * seq (the log leads, the document follows), and each entry is applied in its own transaction
 * whose change carries that entry's seq. So each change's JSON Patch is the exact step from one
 * logged state to the next; the feed collects them for one event-loop turn and hands the batch,
 * coalesced and labelled with the last seq it covers, to its subscribers. Entries that change no
 * JSON (lifecycle events, updates elsewhere in the document) still move the seq.
 */

import type { Engine, Json, PatchOperation, StateDocument } from '@ystate/core';
import { coalescePatch } from './coalesce-patch.js';

/** The coalesced operations of the durable updates of one event-loop turn, and the last seq they cover. */
export interface FeedBatch {
  readonly ops: readonly PatchOperation[];
  readonly seq: number;
}

export interface FeedSubscriber {
  onBatch(batch: FeedBatch): void;
  /** The document was closed (the engine is closing, say): no more batches will come. */
  onClose(): void;
}

export class DocumentFeed {
  private pending: PatchOperation[] = [];
  private pendingSeq: number | undefined;
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private readonly subscribers = new Set<FeedSubscriber>();
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];
  private readonly changeListeners = new Set<() => void>();
  private readonly stopChanges: () => void;
  /** The last seq delivered (the document's seq once the pending batch is flushed). */
  private current: number;

  private constructor(
    readonly docId: string,
    private readonly doc: StateDocument,
    seq: number,
    private readonly stop: () => void,
    private readonly engine: Engine,
  ) {
    this.current = seq;
    this.stopChanges = doc.onChange((change) => {
      for (const op of change.ops) this.pending.push(op);
      // The operations and the seq of their entry arrive together: a flush never splits them.
      if (change.seq !== undefined) this.advance(change.seq);
      else this.moved();
    });
    engine.registry.on('closed', this.onDocumentClosed);
  }

  /**
   * Starts a feed: listens for durable updates and lifecycle entries (which move the seq, changing
   * JSON or not), then takes the open document as it stands, with its seq, and its changes from
   * then on — synchronously, so no entry falls between the two.
   */
  static async open(engine: Engine, docId: string): Promise<DocumentFeed> {
    let feed: DocumentFeed | undefined;
    const advance = (seq: number) => feed?.advance(seq);
    const stops: (() => void)[] = [];
    const stop = () => {
      for (const stopOne of stops.splice(0)) stopOne();
    };
    try {
      stops.push(await engine.onDurableUpdate(docId, (_update, seq) => advance(seq)));
      stops.push(await engine.onLifecycle(docId, {}, ({ seq }) => advance(seq)));
      const doc = await engine.open(docId);
      stops.push(() => engine.release(docId));
      // Entries applied before this point are in the document and below its seq.
      feed = new DocumentFeed(docId, doc, engine.seqOf(docId) ?? 0, stop, engine);
      return feed;
    } catch (error) {
      stop();
      throw error;
    }
  }

  /** The seq the document's JSON reflects, after delivering whatever is pending. */
  get seq(): number {
    this.flush();
    return this.current;
  }

  /** Delivers the pending batch now, then registers `subscriber`; returns the seq it starts at. */
  subscribe(subscriber: FeedSubscriber): number {
    this.flush();
    if (this.closed) subscriber.onClose();
    else this.subscribers.add(subscriber);
    return this.current;
  }

  unsubscribe(subscriber: FeedSubscriber): void {
    this.subscribers.delete(subscriber);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The JSON at `pointer` as of `seq` (call right after `subscribe` or in `onBatch`), or undefined. */
  valueAt(pointer: string): Json | undefined {
    return this.doc.get(pointer);
  }

  /** Delivers the pending batch to every subscriber (normally at the end of the event-loop turn). */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    const seq = this.pendingSeq;
    if (seq === undefined) return;
    this.pendingSeq = undefined;
    const ops = this.pending;
    this.pending = [];
    this.current = Math.max(this.current, seq);
    const batch: FeedBatch = { ops: coalescePatch(ops), seq: this.current };
    for (const subscriber of [...this.subscribers]) subscriber.onBatch(batch);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.engine.registry.off('closed', this.onDocumentClosed);
    this.stopChanges();
    this.stop();
    this.changeListeners.clear();
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.onClose();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  /**
   * Calls `listener` whenever the document or its seq moves on (an update or a lifecycle entry
   * arrived), before the batch is delivered: what was derived from the document is stale from then.
   * Returns a function that stops it.
   */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` once the feed closes (at once if it has). */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** The registry closed the document (engine closing, say): the feed ends, and with it its streams. */
  private readonly onDocumentClosed = (docId: string): void => {
    if (docId === this.docId) this.close();
  };

  /** An entry was applied: the batch reaches its seq. */
  private advance(seq: number): void {
    if (this.closed || seq <= this.current) return;
    this.pendingSeq = Math.max(this.pendingSeq ?? 0, seq);
    this.moved();
  }

  private moved(): void {
    if (this.closed) return;
    for (const listener of this.changeListeners) listener();
    // An engine commit applies all its entries in one synchronous run: flushing after the turn
    // makes every batch end at a point where the document equals the log at the batch's seq.
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined;
      // Per-document work: a failure ends this feed (its streams close, clients reconnect to a new
      // one) and is reported to the engine's error handler; it never reaches the process.
      try {
        this.flush();
      } catch (error) {
        this.engine.reportError(error, 'feed', this.docId);
        this.close();
      }
    });
  }
}

interface FeedEntry {
  feed: Promise<DocumentFeed>;
  holders: number;
}

/** Feeds by engine and docId, shared by reference count. */
const feeds = new WeakMap<Engine, Map<string, FeedEntry>>();

/** A hold on a document's feed. */
export interface FeedHold {
  feed: DocumentFeed;
  /** Lets go of the feed; the last holder closes it (releasing the document). */
  release(): void;
}

/** Opens (or joins) the feed of a document. */
export async function acquireFeed(engine: Engine, docId: string): Promise<FeedHold> {
  let byDoc = feeds.get(engine);
  if (byDoc === undefined) {
    byDoc = new Map();
    feeds.set(engine, byDoc);
  }
  const docs = byDoc;
  let entry = docs.get(docId);
  if (entry === undefined) {
    const created: FeedEntry = { feed: DocumentFeed.open(engine, docId), holders: 0 };
    docs.set(docId, created);
    created.feed.then(
      // A feed the registry closed stays closed: later streams start a new one.
      (feed) => feed.onClosed(() => docs.get(docId) === created && docs.delete(docId)),
      () => docs.get(docId) === created && docs.delete(docId),
    );
    entry = created;
  }
  const held = entry;
  held.holders++;
  let feed: DocumentFeed;
  try {
    feed = await held.feed;
  } catch (error) {
    held.holders--;
    throw error;
  }
  let released = false;
  return {
    feed,
    release: () => {
      if (released) return;
      released = true;
      held.holders--;
      if (held.holders > 0) return;
      if (docs.get(docId) === held) docs.delete(docId);
      feed.close();
    },
  };
}
