/**
 * Undoing one agent run, or one origin's changes between two seqs, while every other change stays.
 * The rule is Yjs's own undo: the document is rebuilt at the seq before the first undone entry, a
 * `Y.UndoManager` tracks the undone entries as they are applied again in log order among everyone
 * else's, and undoing its stack gives the update that is written (then a `ystate.version.undone`
 * lifecycle event naming what was undone). What that means where others built on the undone
 * changes is spelled out, with examples, in docs/versions.md.
 */

import * as Y from 'yjs';
import { ROOT_MAP } from './document-roots.js';
import { ErrorCode, YStateError } from './errors.js';
import { isPlainObject, type Json } from './json.js';
import { diffJson } from './json-diff.js';
import type { PatchOperation } from './json-patch.js';
import { decodeLifecyclePayload } from './lifecycle.js';
import type { LogEntry } from './log-entry.js';
import { addsNothing } from './update-check.js';
import {
  docAt,
  lifecycleEntries,
  type VersionHost,
  VersionLifecycle,
  type VersionWriteOptions,
} from './versions.js';
import { toJsonValue } from './y-value.js';

/** What to undo: an agent run by its run id, or one origin's entries (within `from`..`to`, inclusive). */
export type UndoSelection =
  | { run: string }
  | { origin: string; from?: number | undefined; to?: number | undefined };

/** What an undo wrote. */
export interface Undone {
  /** The seq of the `ystate.version.undone` lifecycle entry. */
  seq: number;
  /** The seq of the update that undid the changes; undefined when there was nothing left to undo. */
  updateSeq: number | undefined;
  /** The origin whose entries were undone, and the range they were taken from. */
  origin: string;
  from: number;
  to: number;
  /** How many of the selected entries changed state (and were undone). */
  entries: number;
}

const READ_CHUNK = 500;

/**
 * The entries a selection covers. A run is the entries with the origin of the first lifecycle event
 * whose `data.runId` is the run id (AG-UI's RUN_STARTED), from that event to the last one naming the
 * run (RUN_FINISHED, RUN_ERROR, or the latest so far); RUN_NOT_FOUND when no retained event names it.
 */
export async function selectionRange(
  host: Pick<VersionHost, 'log'>,
  docId: string,
  selection: UndoSelection,
): Promise<{ origin: string; from: number; to: number }> {
  const head = await host.log.head(docId);
  if ('origin' in selection) {
    const from = selection.from ?? 1;
    const to = selection.to ?? head;
    if (typeof selection.origin !== 'string' || selection.origin === '')
      throw invalid('"origin" must be a non-empty string');
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || from > to || to > head) {
      throw new YStateError({
        code: ErrorCode.PATH_NOT_FOUND,
        message: `seqs ${from}..${to} are not a range within the history of "${docId}" (head ${head})`,
      });
    }
    return { origin: selection.origin, from, to };
  }
  if (typeof selection.run !== 'string' || selection.run === '')
    throw invalid('"run" must be a non-empty string');
  let found: { origin: string; from: number; to: number } | undefined;
  for await (const { entry, event } of lifecycleEntries(host.log, docId)) {
    if (!isPlainObject(event.data) || event.data.runId !== selection.run) continue;
    if (found === undefined) found = { origin: entry.origin, from: entry.seq, to: entry.seq };
    else found.to = entry.seq;
  }
  if (found === undefined) {
    throw new YStateError({
      code: ErrorCode.RUN_NOT_FOUND,
      message: `no retained lifecycle event of "${docId}" names run "${selection.run}"`,
    });
  }
  return found;
}

/**
 * Undoes the changes of a run or an origin (Yjs undo semantics), writing the result as one update
 * with `origin` and recording `ystate.version.undone`. Later changes by others stay, except where
 * they live inside something the undone changes created (that goes with it).
 */
export async function undo(
  host: VersionHost,
  docId: string,
  selection: UndoSelection,
  options: VersionWriteOptions = {},
): Promise<Undone> {
  const range = await selectionRange(host, docId, selection);
  const head = await host.log.head(docId);
  const ydoc = await docAt(host.log, docId, range.from - 1);
  const undone = {};
  const others = {};
  // One stack item for all the undone entries (an unbounded capture timeout merges them), so the
  // run is undone as one change: with one item per entry, undoing an entry whose write had lost to
  // a later one of the run (a stale-base write: both replaced the same value concurrently) changes
  // nothing, and Yjs then takes that dead item for another client's newer value and does not bring
  // back what the run overwrote.
  const manager = new Y.UndoManager(ydoc.getMap(ROOT_MAP), {
    trackedOrigins: new Set([undone]),
    captureTimeout: Number.POSITIVE_INFINITY,
  });
  let entries = 0;
  let update: Uint8Array;
  let patch: PatchOperation[];
  try {
    for (let next = range.from; next <= head; ) {
      const chunk = await host.log.read(docId, { from: next, to: Math.min(head, next + READ_CHUNK - 1) });
      if (chunk[0]?.seq !== next) {
        throw new YStateError({
          code: ErrorCode.HISTORY_PRUNED,
          message: `the log of "${docId}" no longer holds seq ${next}`,
        });
      }
      for (const entry of chunk) {
        const selected = entry.origin === range.origin && entry.seq <= range.to;
        const payload = updateOf(entry);
        if (payload === undefined) continue;
        if (selected) entries++;
        Y.applyUpdate(ydoc, payload, selected ? undone : others);
      }
      next = (chunk[chunk.length - 1] as LogEntry).seq + 1;
    }
    const before = Y.encodeStateVector(ydoc);
    const json = toJsonValue(ydoc.getMap(ROOT_MAP));
    while (manager.undoStack.length > 0) manager.undo();
    update = Y.encodeStateAsUpdate(ydoc, before);
    patch = diffJson(json, toJsonValue(ydoc.getMap(ROOT_MAP)));
  } finally {
    manager.destroy();
    ydoc.destroy();
  }
  if (options.beforeWrite) await options.beforeWrite(patch);
  const origin = options.origin ?? host.nodeId;
  let updateSeq: number | undefined;
  const doc = await host.open(docId);
  try {
    if (!addsNothing(doc.ydoc, update)) updateSeq = (await host.receive(docId, update, { origin })).seq;
  } finally {
    host.release(docId);
  }
  const data: { [key: string]: Json } = { origin: range.origin, from: range.from, to: range.to, entries };
  if ('run' in selection) data.run = selection.run;
  if (updateSeq !== undefined) data.updateSeq = updateSeq;
  const { seq } = await host.record(
    docId,
    { type: 'event', name: VersionLifecycle.undone, path: '', data },
    { origin },
  );
  return { seq, updateSeq, origin: range.origin, from: range.from, to: range.to, entries };
}

/** The Yjs update an entry carries, if any. */
function updateOf(entry: LogEntry): Uint8Array | undefined {
  if (entry.kind === 'update') return entry.payload;
  if (entry.kind === 'lifecycle') return decodeLifecyclePayload(entry.payload).update;
  return undefined;
}

function invalid(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message });
}
