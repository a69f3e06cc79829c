/**
 * What the event streams of one subtree of a document have in common: the events a batch of
 * changes makes for the subtree (a delta rebased onto it, or a snapshot), and the snapshot of the
 * subtree at a seq. A shared view builds each once for all of its streams — one `JSON.stringify`
 * of a delta, one Yjs-to-JSON conversion and one `JSON.stringify` of a snapshot, however many
 * streams send it — and keeps the last snapshot until the next change, for streams that start at
 * the same seq. Streams that hand events to code that may keep or modify them get a private view,
 * which copies the values it hands out and caches nothing.
 */

import { type BaseEvent, EventType } from '@ag-ui/core';
import { cloneJson, type PatchOperation, parsePointer } from '@ystate/core';
import type { DocumentFeed, FeedBatch } from './document-feed.js';
import { shareEvent } from './shared-events.js';
import { subtreePatch } from './subtree-patch.js';

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

export class StreamView {
  private readonly segments: readonly string[];
  /** Estimated JSON length of the subtree (exact after each snapshot). */
  private snapshotBytes = 0;
  /** The last snapshot built, until the mirror changes (shared views only). */
  private cached: { seq: number; event: BaseEvent } | undefined;
  /** The event each batch made (null: none), while the batch is being delivered (shared views only). */
  private readonly byBatch = new WeakMap<FeedBatch, BaseEvent | null>();
  private readonly stopChanges: () => void;

  constructor(
    private readonly feed: DocumentFeed,
    readonly path: string,
    /** Events are shared between the view's streams and their values are the feed's own. */
    readonly shared: boolean,
  ) {
    this.segments = parsePointer(path);
    this.stopChanges = shared
      ? feed.onChange(() => {
          this.cached = undefined;
        })
      : () => undefined;
  }

  /** A STATE_SNAPSHOT of the subtree at `seq`, the feed's seq now (right after subscribing, in `onBatch`, or after reading `feed.seq`). */
  snapshot(seq: number): BaseEvent {
    if (this.cached !== undefined && this.cached.seq === seq) return this.cached.event;
    const value = this.feed.valueAt(this.path) ?? null;
    const json = JSON.stringify(value);
    this.snapshotBytes = json.length;
    const metadata = this.metadata(seq);
    const event: BaseEvent = { type: EventType.STATE_SNAPSHOT, snapshot: value, metadata };
    if (this.shared) {
      shareEvent(
        event,
        `{"type":"${EventType.STATE_SNAPSHOT}","snapshot":${json},"metadata":${JSON.stringify(metadata)}}`,
      );
      this.cached = { seq, event };
    }
    return event;
  }

  /** The event `batch` makes for the subtree, or undefined when it does not touch it. */
  eventFor(batch: FeedBatch): BaseEvent | undefined {
    if (!this.shared) return this.build(batch);
    let event = this.byBatch.get(batch);
    if (event === undefined) {
      event = this.build(batch) ?? null;
      this.byBatch.set(batch, event);
    }
    return event ?? undefined;
  }

  /**
   * The event that brings a consumer resuming at an earlier seq to `seq`, given the document's
   * operations in between: a delta rebased onto the subtree, undefined when they do not touch it,
   * or `snapshot` when the consumer needs one instead (the subtree itself was replaced, or the
   * delta is larger than a snapshot). Never cached: it is one consumer's.
   */
  resumeEvent(ops: readonly PatchOperation[], seq: number): BaseEvent | 'snapshot' | undefined {
    const rebased = subtreePatch(ops, this.segments);
    if (rebased.kind === 'snapshot') return 'snapshot';
    if (rebased.ops.length === 0) return undefined;
    const json = JSON.stringify(rebased.ops);
    // Measured on the subtree now, not at `seq`: close enough to choose the smaller event.
    if (json.length >= this.snapshotBytes * CHECK_RATIO) {
      if (json.length > JSON.stringify(this.feed.valueAt(this.path) ?? null).length) return 'snapshot';
    }
    const metadata = this.metadata(seq);
    const event: BaseEvent = { type: EventType.STATE_DELTA, delta: rebased.ops, metadata };
    if (this.shared) {
      shareEvent(
        event,
        `{"type":"${EventType.STATE_DELTA}","delta":${json},"metadata":${JSON.stringify(metadata)}}`,
      );
    }
    return event;
  }

  /** Stops following the feed. */
  dispose(): void {
    this.stopChanges();
    this.cached = undefined;
  }

  private build(batch: FeedBatch): BaseEvent | undefined {
    const rebased = subtreePatch(batch.ops, this.segments);
    if (rebased.kind === 'snapshot') return this.snapshot(batch.seq);
    if (rebased.ops.length === 0) return undefined;
    const ops = this.shared ? rebased.ops : rebased.ops.map(copyOperation);
    const json = JSON.stringify(ops);
    if (json.length >= this.snapshotBytes * CHECK_RATIO) {
      const snapshot = this.snapshot(batch.seq); // measures the subtree exactly
      if (json.length > this.snapshotBytes) return snapshot;
    } else {
      this.snapshotBytes += growthOf(ops);
    }
    const metadata = this.metadata(batch.seq);
    const event: BaseEvent = { type: EventType.STATE_DELTA, delta: ops, metadata };
    if (this.shared) {
      shareEvent(
        event,
        `{"type":"${EventType.STATE_DELTA}","delta":${json},"metadata":${JSON.stringify(metadata)}}`,
      );
    }
    return event;
  }

  private metadata(seq: number): { ystate: YStateEventMetadata } {
    return { ystate: { docId: this.feed.docId, seq, path: this.path } };
  }
}

interface ViewEntry {
  view: StreamView;
  holders: number;
}

/** Shared views by feed and path. */
const views = new WeakMap<DocumentFeed, Map<string, ViewEntry>>();

/** A hold on a view. */
export interface ViewHold {
  view: StreamView;
  /** Lets go of the view; the last holder of a shared view disposes of it. */
  release(): void;
}

/** The shared view of `path` on `feed` (created by its first holder), or a private one. */
export function acquireView(feed: DocumentFeed, path: string, shared: boolean): ViewHold {
  if (!shared) {
    const view = new StreamView(feed, path, false);
    return { view, release: () => view.dispose() };
  }
  let byPath = views.get(feed);
  if (byPath === undefined) {
    byPath = new Map();
    views.set(feed, byPath);
  }
  const paths = byPath;
  let entry = paths.get(path);
  if (entry === undefined) {
    entry = { view: new StreamView(feed, path, true), holders: 0 };
    paths.set(path, entry);
  }
  const held = entry;
  held.holders++;
  let released = false;
  return {
    view: held.view,
    release: () => {
      if (released) return;
      released = true;
      held.holders--;
      if (held.holders > 0) return;
      if (paths.get(path) === held) paths.delete(path);
      held.view.dispose();
    },
  };
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
