/**
 * Rebuilding state from a log: load a document (latest checkpoint + tail, in chunks that yield
 * to the event loop), the state at any seq or time, a step-by-step replay with the JSON Patch of
 * each entry, and checkpoints built by applying entries to a Y.Doc (never by merging thousands of
 * raw updates, which is super-linear).
 */

import * as Y from 'yjs';
import { describeRoots, documentJson, type RootSummary } from './document-roots.js';
import { ErrorCode, YStateError } from './errors.js';
import type { Json } from './json.js';
import type { PatchOperation } from './json-patch.js';
import { decodeLifecyclePayload, type RecordedLifecycleEvent } from './lifecycle.js';
import type { EntryKind, LogEntry } from './log-entry.js';
import { StateDocument } from './state-document.js';
import type { UpdateLog } from './update-log.js';

/** The transaction origin of entries applied from a log or a bus: they are durable already. */
export class LogOrigin {
  /** The origin of a change applied from the log entry `seq`, written by `origin`. */
  constructor(
    /** The last seq applied in the transaction. */
    readonly seq: number,
    /** Who wrote the (last) entry. */
    readonly origin: string,
    /** True when this node wrote the entry. */
    readonly local = false,
  ) {}
}

/** How many entries a load reads from the log at a time. */
export const DEFAULT_CHUNK = 500;

/** Loading yields to the event loop once it has worked this long… */
const YIELD_BUDGET_MS = 10;
/** …checked after every slice of this many entries. */
const SLICE = 50;

/**
 * Applies entries to a Y.Doc as one transaction; returns the lifecycle events among them. An entry
 * Yjs cannot integrate (written before the gate checked updates) is integrated as far as Yjs goes,
 * the same way on every load, and reported to `onUnreadable`: it never stops a load.
 */
export function applyEntries(
  ydoc: Y.Doc,
  entries: readonly LogEntry[],
  origin?: LogOrigin,
  onUnreadable: (entry: LogEntry, error: unknown) => void = () => {},
): RecordedLifecycleEvent[] {
  const last = entries[entries.length - 1];
  if (last === undefined) return [];
  const events: RecordedLifecycleEvent[] = [];
  ydoc.transact(() => {
    for (const entry of entries) {
      try {
        if (entry.kind === 'lifecycle') {
          const { event, update } = decodeLifecyclePayload(entry.payload);
          events.push({ ...event, seq: entry.seq, time: entry.time, origin: entry.origin });
          if (update) Y.applyUpdate(ydoc, update);
        } else {
          Y.applyUpdate(ydoc, entry.payload);
        }
      } catch (error) {
        onUnreadable(entry, error);
      }
    }
  }, origin ?? new LogOrigin(last.seq, last.origin));
  return events;
}

/**
 * Loads a document's state up to seq `to` (default: the head) into `ydoc`: the latest checkpoint
 * at or before it, then the entries after it, read `chunk` at a time and applied in slices,
 * yielding to the event loop every ~10 ms of work.
 * Resolves with the last seq applied.
 */
export async function loadInto(
  log: UpdateLog,
  docId: string,
  ydoc: Y.Doc,
  options: {
    to?: number;
    chunk?: number;
    onCheckpoint?: (checkpoint: LogEntry) => void;
    onEvents?: (events: RecordedLifecycleEvent[]) => void;
  } = {},
): Promise<number> {
  const to = options.to ?? (await log.head(docId));
  const chunk = options.chunk ?? DEFAULT_CHUNK;
  const checkpoint = await log.latestCheckpoint(docId, to);
  if (checkpoint) {
    Y.applyUpdate(ydoc, checkpoint.payload, new LogOrigin(checkpoint.seq, checkpoint.origin));
    options.onCheckpoint?.(checkpoint);
  }
  let next = (checkpoint?.seq ?? 0) + 1;
  let sliceStarted = performance.now();
  while (next <= to) {
    const entries = await log.read(docId, { from: next, to: Math.min(to, next + chunk - 1) });
    if (entries[0]?.seq !== next) {
      throw new YStateError({
        code: ErrorCode.HISTORY_PRUNED,
        message: `the log of "${docId}" no longer holds seq ${next} and no checkpoint covers it`,
      });
    }
    // Apply in small slices and yield whenever a time budget is spent: how long an entry takes
    // varies (a cold V8, large updates), so a fixed count cannot bound the block.
    for (let start = 0; start < entries.length; start += SLICE) {
      const events = applyEntries(ydoc, entries.slice(start, start + SLICE));
      if (events.length > 0) options.onEvents?.(events);
      if (performance.now() - sliceStarted >= YIELD_BUDGET_MS) {
        await yieldToEventLoop();
        sliceStarted = performance.now();
      }
    }
    next = (entries[entries.length - 1] as LogEntry).seq + 1;
  }
  return to;
}

/** Where to look in history: a sequence number, or a time (ms since the epoch, or an ISO string). */
export type HistoryPoint = { seq: number } | { time: number | string };

/** A document as it was at a point in history. */
export interface HistoricalState {
  /** The last seq included. */
  seq: number;
  json: Record<string, Json>;
  /** The Yjs state, usable as the base version of a patch. */
  update: Uint8Array;
  /** The root types with content, with their kind and where their JSON is. */
  roots: RootSummary[];
}

/** The state of a document at a seq, or after the last entry written at or before a time. */
export async function stateAt(log: UpdateLog, docId: string, at: HistoryPoint): Promise<HistoricalState> {
  const head = await log.head(docId);
  const seq = 'seq' in at ? at.seq : await seqAtTime(log, docId, at.time, head);
  if (!Number.isInteger(seq) || seq < 0 || seq > head) {
    throw new YStateError({
      code: ErrorCode.PATH_NOT_FOUND,
      message: `seq ${seq} is outside the history of "${docId}" (head ${head})`,
    });
  }
  const ydoc = new Y.Doc();
  try {
    await loadInto(log, docId, ydoc, { to: seq });
    return {
      seq,
      json: documentJson(ydoc),
      update: Y.encodeStateAsUpdate(ydoc),
      roots: describeRoots(ydoc),
    };
  } finally {
    ydoc.destroy();
  }
}

/** One step of a replay: an entry and the JSON Patch it made. */
export interface ReplayStep {
  seq: number;
  time: number;
  origin: string;
  kind: EntryKind;
  patch: PatchOperation[];
  event?: RecordedLifecycleEvent;
}

/**
 * Steps through entries `from`..`to` (inclusive; default the whole retained log), yielding each
 * entry with the JSON Patch that turns the state before it into the state after it.
 */
export async function* replay(
  log: UpdateLog,
  docId: string,
  range: { from?: number; to?: number } = {},
): AsyncGenerator<ReplayStep> {
  const head = await log.head(docId);
  const from = Math.max(1, range.from ?? 1);
  const to = Math.min(head, range.to ?? head);
  const doc = new StateDocument(docId);
  try {
    if (from > 1) await loadInto(log, docId, doc.ydoc, { to: from - 1 });
    let patch: PatchOperation[] = [];
    doc.onChange((change) => {
      patch.push(...change.ops);
    });
    for (let next = from; next <= to; ) {
      const entries = await log.read(docId, { from: next, to: Math.min(to, next + DEFAULT_CHUNK - 1) });
      if (entries[0]?.seq !== next) {
        throw new YStateError({
          code: ErrorCode.HISTORY_PRUNED,
          message: `the log of "${docId}" no longer holds seq ${next}`,
        });
      }
      for (const entry of entries) {
        patch = [];
        const [event] = applyEntries(doc.ydoc, [entry]);
        const step: ReplayStep = {
          seq: entry.seq,
          time: entry.time,
          origin: entry.origin,
          kind: entry.kind,
          patch,
        };
        if (event) step.event = event;
        yield step;
      }
      next = (entries[entries.length - 1] as LogEntry).seq + 1;
    }
  } finally {
    doc.destroy();
  }
}

/** Builds a checkpoint at seq `seq` by applying the log to a fresh Y.Doc. */
export async function buildCheckpoint(
  log: UpdateLog,
  docId: string,
  seq: number,
  origin: string,
): Promise<LogEntry> {
  const ydoc = new Y.Doc();
  try {
    await loadInto(log, docId, ydoc, { to: seq });
    return {
      kind: 'checkpoint',
      seq,
      time: Date.now(),
      origin,
      flags: 0,
      payload: Y.encodeStateAsUpdate(ydoc),
    };
  } finally {
    ydoc.destroy();
  }
}

/** The last seq written at or before `time` (binary search; entry times are taken as non-decreasing). */
export async function seqAtTime(
  log: UpdateLog,
  docId: string,
  time: number | string,
  head: number,
): Promise<number> {
  const ms = typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(ms)) {
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: `"${time}" is not a time` });
  }
  let low = 0;
  let high = head;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    const [entry] = await log.read(docId, { from: mid, to: mid });
    if (entry === undefined || entry.time <= ms) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * Lets other work run: long loads never block the event loop for more than one chunk.
 * `setImmediate` where there is one (Node): `setTimeout(0)` waits at least 1 ms per chunk.
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}
