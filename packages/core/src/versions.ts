/**
 * Versions built on the log: points of history named by seq, time or a version name; named
 * versions (a name for a seq, recorded in the log as a lifecycle event, so it travels with
 * backups); and the JSON Patch between two points. Reverting and undoing live in revert.ts and
 * undo.ts; all three write through the engine's public API (`VersionHost`).
 */

import * as Y from 'yjs';
import { ErrorCode, isYStateError, YStateError } from './errors.js';
import { type HistoricalState, type HistoryPoint, loadInto, stateAt } from './history.js';
import { isPlainObject } from './json.js';
import { diffJson } from './json-diff.js';
import type { PatchOperation } from './json-patch.js';
import { decodeLifecyclePayload, type LifecycleEvent } from './lifecycle.js';
import type { LogEntry } from './log-entry.js';
import type { DocumentWriter, StateDocument } from './state-document.js';
import type { UpdateLog } from './update-log.js';

/** The names of the lifecycle events versions record (`type: 'event'`, path `''`). */
export const VersionLifecycle = {
  /** A seq was given a name: `{ name, seq }`. */
  named: 'ystate.version.named',
  /** The document was reverted: `{ to, version? }` (the seq, and the name when one was given). */
  reverted: 'ystate.version.reverted',
  /** A run's or origin's changes were undone: `{ origin, from, to, entries, run?, updateSeq? }`. */
  undone: 'ystate.version.undone',
  /** A name was removed (its history is no longer pinned): `{ name }`. */
  deleted: 'ystate.version.deleted',
} as const;

/**
 * What versions need from an engine (its public API; `Engine` has all of it). A structural type,
 * so this module does not import the engine it extends.
 */
export interface VersionHost {
  readonly log: UpdateLog;
  readonly nodeId: string;
  /** Opens a live document (held until `release`). */
  open(docId: string): Promise<StateDocument>;
  /** Lets go of a document opened with `open`. */
  release(docId: string): void;
  /** The state of a document at a seq or time. */
  stateAt(docId: string, at: HistoryPoint): Promise<HistoricalState>;
  /** Applies a Yjs update; resolves with its seq once the log holds it. */
  receive(docId: string, update: Uint8Array, options?: { origin?: string }): Promise<{ seq: number }>;
  /** Records a lifecycle event (with optional state changes in the same entry); resolves with its seq. */
  record(
    docId: string,
    event: unknown,
    options?: { origin?: string; change?: (tx: DocumentWriter) => void },
  ): Promise<{ seq: number }>;
}

/** Options of the writing operations (revert, undo). */
export interface VersionWriteOptions {
  /** Who makes the change (default: the engine's node id). */
  origin?: string;
  /**
   * Called with the JSON Patch the change would make to the document as it is now, before anything
   * is written; throwing refuses the change (a server's `onChange` hook sees it this way).
   */
  beforeWrite?: (patch: PatchOperation[]) => void | Promise<void>;
}

/** A point of history: a seq, a time (ms or ISO string), or a named version. */
export type VersionPoint = HistoryPoint | { version: string };

/** A named version as the log records it. */
export interface NamedVersion {
  name: string;
  /** The seq it names: its state is `stateAt(seq)`. */
  seq: number;
  /** Who named it (the origin of the naming entry). */
  origin: string;
  /** When it was named (ms since the epoch). */
  time: number;
  /** The seq of the lifecycle entry that named it. */
  namedAt: number;
}

/** The JSON Patch between two points of a document's history. */
export interface VersionDiff {
  from: number;
  to: number;
  /** RFC 6902 operations that turn the JSON at `from` into the JSON at `to`. */
  patch: PatchOperation[];
}

const MAX_NAME_LENGTH = 200;
const READ_CHUNK = 500;

/**
 * Reads a point from text (a query parameter, a CLI argument): digits are a seq, an ISO 8601 date
 * (or 13+ digits of ms) a time, anything else a version name.
 */
export function parseVersionPoint(text: string): VersionPoint {
  const trimmed = text.trim();
  if (/^\d{1,12}$/.test(trimmed)) return { seq: Number(trimmed) };
  if (/^\d{13,}$/.test(trimmed)) return { time: Number(trimmed) };
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return { time: trimmed };
  return { version: text };
}

/** Checks a version name: non-empty, at most 200 characters, not readable as a seq or time. */
export function assertVersionName(name: unknown): asserts name is string {
  const fault =
    typeof name !== 'string' || name.trim().length === 0
      ? 'a version name must be a non-empty string'
      : name.length > MAX_NAME_LENGTH
        ? `a version name must be at most ${MAX_NAME_LENGTH} characters`
        : !('version' in parseVersionPoint(name))
          ? `"${name}" reads as a seq or a time; a version name must not`
          : undefined;
  if (fault !== undefined) throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: fault });
}

/**
 * The named versions of a document, oldest naming first (a name is kept by its first naming, until
 * it is deleted).
 */
export async function listVersions(log: UpdateLog, docId: string): Promise<NamedVersion[]> {
  const versions = new Map<string, NamedVersion>();
  for await (const { entry, event } of lifecycleEntries(log, docId)) {
    if (!isPlainObject(event.data)) continue;
    if (event.name === VersionLifecycle.deleted) {
      if (typeof event.data.name === 'string') versions.delete(event.data.name);
      continue;
    }
    if (event.name !== VersionLifecycle.named) continue;
    const { name, seq } = event.data;
    if (typeof name !== 'string' || typeof seq !== 'number' || versions.has(name)) continue;
    versions.set(name, { name, seq, origin: entry.origin, time: entry.time, namedAt: entry.seq });
  }
  return [...versions.values()];
}

/** The named version `name`; VERSION_NOT_FOUND when the retained log has none of that name. */
export async function findVersion(log: UpdateLog, docId: string, name: string): Promise<NamedVersion> {
  const found = (await listVersions(log, docId)).find((version) => version.name === name);
  if (found !== undefined) return found;
  const [first] = await log.read(docId, { from: 1, to: 1 });
  const pruned = first === undefined && (await log.head(docId)) > 0;
  throw new YStateError({
    code: ErrorCode.VERSION_NOT_FOUND,
    message: `"${docId}" has no version named "${name}"${pruned ? ' in its retained history (older entries were pruned)' : ''}`,
  });
}

/**
 * Names a seq (default: the head) of a document, recording a lifecycle event with `origin`.
 * VERSION_EXISTS when the name is taken; PATH_NOT_FOUND when the seq is beyond the head.
 */
export async function nameVersion(
  host: VersionHost,
  docId: string,
  name: string,
  options: { seq?: number; origin?: string } = {},
): Promise<NamedVersion> {
  assertVersionName(name);
  const head = await host.log.head(docId);
  const seq = options.seq ?? head;
  if (!Number.isInteger(seq) || seq < 0 || seq > head) {
    throw new YStateError({
      code: ErrorCode.PATH_NOT_FOUND,
      message: `seq ${seq} is outside the history of "${docId}" (head ${head})`,
    });
  }
  const taken = (await listVersions(host.log, docId)).find((version) => version.name === name);
  if (taken !== undefined) {
    throw new YStateError({
      code: ErrorCode.VERSION_EXISTS,
      message: `"${docId}" already has a version named "${name}" (seq ${taken.seq})`,
    });
  }
  const origin = options.origin ?? host.nodeId;
  const event: LifecycleEvent = {
    type: 'event',
    name: VersionLifecycle.named,
    path: '',
    data: { name, seq },
  };
  const recorded = await host.record(docId, event, { origin });
  // The time the log holds, as listVersions reports it.
  const [entry] = await host.log.read(docId, { from: recorded.seq, to: recorded.seq });
  return { name, seq, origin, time: entry?.time ?? Date.now(), namedAt: recorded.seq };
}

/**
 * Deletes a named version by recording a lifecycle event with `origin`: it is no longer listed, its
 * name may be given again, and it no longer pins history. VERSION_NOT_FOUND when there is none.
 */
export async function deleteVersion(
  host: VersionHost,
  docId: string,
  name: string,
  options: { origin?: string } = {},
): Promise<{ name: string; seq: number; deletedAt: number }> {
  const version = await findVersion(host.log, docId, name);
  const event: LifecycleEvent = { type: 'event', name: VersionLifecycle.deleted, path: '', data: { name } };
  const recorded = await host.record(docId, event, { origin: options.origin ?? host.nodeId });
  return { name, seq: version.seq, deletedAt: recorded.seq };
}

/**
 * The state at a point; a version whose history was pruned anyway (by a raw `log.prune`, or
 * before versions pinned history) answers HISTORY_PRUNED naming the version.
 */
export async function versionState(
  log: UpdateLog,
  docId: string,
  point: VersionPoint,
): Promise<HistoricalState> {
  if (!('version' in point)) return stateAt(log, docId, point);
  const version = await findVersion(log, docId, point.version);
  try {
    return await stateAt(log, docId, { seq: version.seq });
  } catch (error) {
    if (!isYStateError(error, ErrorCode.HISTORY_PRUNED)) throw error;
    throw new YStateError({
      code: ErrorCode.HISTORY_PRUNED,
      message: `version "${version.name}" (seq ${version.seq}) of "${docId}" can no longer be rebuilt: pruning removed the history it needs`,
      cause: error,
    });
  }
}

/** The JSON Patch that turns the document at `from` into the document at `to`. */
export async function diffVersions(
  log: UpdateLog,
  docId: string,
  from: VersionPoint,
  to: VersionPoint,
): Promise<VersionDiff> {
  const [before, after] = await Promise.all([versionState(log, docId, from), versionState(log, docId, to)]);
  return { from: before.seq, to: after.seq, patch: diffJson(before.json, after.json) };
}

/** Loads the Y.Doc of a document at a seq (gc off, so an undo manager can restore what it deleted). */
export async function docAt(log: UpdateLog, docId: string, seq: number): Promise<Y.Doc> {
  const ydoc = new Y.Doc({ gc: false });
  try {
    await loadInto(log, docId, ydoc, { to: seq });
    return ydoc;
  } catch (error) {
    ydoc.destroy();
    throw error;
  }
}

/** Each retained lifecycle entry of a document with its event, in seq order. */
export async function* lifecycleEntries(
  log: UpdateLog,
  docId: string,
  range: { from?: number; to?: number } = {},
): AsyncGenerator<{ entry: LogEntry; event: LifecycleEvent; update: Uint8Array | undefined }> {
  const to = range.to ?? (await log.head(docId));
  for (let next = range.from ?? 1; next <= to; ) {
    const entries = await log.read(docId, { from: next, to: Math.min(to, next + READ_CHUNK - 1) });
    const last = entries[entries.length - 1];
    if (last === undefined) {
      // The retained log starts later (pruned): skip to where it starts.
      const first = await firstRetainedFrom(log, docId, next, to);
      if (first === undefined) return;
      next = first;
      continue;
    }
    for (const entry of entries) {
      if (entry.kind !== 'lifecycle') continue;
      const { event, update } = decodeLifecyclePayload(entry.payload);
      yield { entry, event, update };
    }
    next = last.seq + 1;
  }
}

/** The first retained seq at or after `from` (entries are a suffix of the history), or undefined. */
async function firstRetainedFrom(
  log: UpdateLog,
  docId: string,
  from: number,
  to: number,
): Promise<number | undefined> {
  let low = from;
  let high = to + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const [entry] = await log.read(docId, { from: mid, to: mid });
    if (entry === undefined) low = mid + 1;
    else high = mid;
  }
  return low <= to ? low : undefined;
}
