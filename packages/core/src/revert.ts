/**
 * Reverting a document to an earlier point: the live document's JSON becomes what it was then, by
 * new CRDT operations written as one lifecycle entry (`ystate.version.reverted`) through the normal
 * write path. The edit is planned against the live Y types at the moment it is written, container
 * by container: unchanged members are left alone, changed objects and arrays are edited in place
 * (arrays aligned like `diffJson`), and collaborative text is spliced between its common prefix and
 * suffix, so a person typing elsewhere in the text meanwhile keeps their keystrokes.
 */

import * as Y from 'yjs';
import { ROOT_MAP } from './document-roots.js';
import type { Json } from './json.js';
import { alignArrays, diffJson, trimCommonEnds } from './json-diff.js';
import { formatPointer, parsePointer } from './pointer.js';
import type { DocumentWriter } from './state-document.js';
import { spliceBetween } from './text-splice.js';
import {
  docAt,
  type VersionHost,
  VersionLifecycle,
  type VersionPoint,
  type VersionWriteOptions,
  versionState,
} from './versions.js';
import { CollaborativeText, toJsonValue, type Writable } from './y-value.js';

/** What a revert wrote. */
export interface Reverted {
  /** The seq of the revert's entry. */
  seq: number;
  /** The seq whose state the document went back to. */
  to: number;
}

/**
 * Makes a document's JSON what it was at `to` (a seq, a time or a named version), as one entry
 * with `origin` that records `ystate.version.reverted`. History is kept.
 */
export async function revert(
  host: VersionHost,
  docId: string,
  to: VersionPoint,
  options: VersionWriteOptions = {},
): Promise<Reverted> {
  // versionState validates the point (and names a pruned version); docAt keeps the Y types.
  const target = await versionState(host.log, docId, to);
  const targetDoc = await docAt(host.log, docId, target.seq);
  const doc = await host.open(docId);
  try {
    if (options.beforeWrite) await options.beforeWrite(diffJson(doc.toJSON(), target.json));
    const data: { [key: string]: Json } = { to: target.seq };
    if ('version' in to) data.version = to.version;
    const { seq } = await host.record(
      docId,
      { type: 'event', name: VersionLifecycle.reverted, path: '', data },
      {
        origin: options.origin ?? host.nodeId,
        change: (tx) => planRevert(tx, doc.root, targetDoc.getMap(ROOT_MAP), ''),
      },
    );
    return { seq, to: target.seq };
  } finally {
    host.release(docId);
    targetDoc.destroy();
  }
}

/**
 * Writes, through `tx`, the edits that turn the live value `live` (at `pointer`) into `target`.
 * Reads only the live Y types (unchanged until the writer commits) and issues writes in an order
 * whose pointers stay valid: array steps go left to right with the index `diffJson` uses.
 */
export function planRevert(tx: DocumentWriter, live: unknown, target: unknown, pointer: string): void {
  if (live instanceof Y.Map && target instanceof Y.Map) {
    for (const key of live.keys()) {
      if (!target.has(key)) tx.delete(child(pointer, key));
    }
    for (const [key, value] of target.entries()) {
      const path = child(pointer, key);
      if (live.has(key)) planRevert(tx, live.get(key), value, path);
      else tx.set(path, writableOf(value));
    }
    return;
  }
  if (live instanceof Y.Array && target instanceof Y.Array) {
    planArray(tx, live.toArray(), target.toArray(), pointer);
    return;
  }
  if (live instanceof Y.Text && target instanceof Y.Text) {
    spliceText(tx, live.toString(), target.toString(), pointer);
    return;
  }
  if (!isYType(live) && !isYType(target) && live === target) return;
  if (pointer === '') return; // the root is always a map
  tx.set(pointer, writableOf(target));
}

function planArray(tx: DocumentWriter, live: unknown[], target: unknown[], pointer: string): void {
  const liveJson = live.map(toJsonValue);
  const targetJson = target.map(toJsonValue);
  const { start, a, b } = trimCommonEnds(liveJson, targetJson);
  // Equal JSON is not enough where the kind differs (text versus a plain string): such elements
  // fall inside the trimmed ends only when they are equal, which leaves the JSON right.
  // `index` is where the next target element goes in the array being edited.
  let index = start;
  for (const step of alignArrays(a, b)) {
    const path = child(pointer, String(index));
    if (step.kind === 'remove') {
      tx.delete(path);
      continue;
    }
    if (step.kind === 'change') planRevert(tx, live[start + step.from], target[start + step.to], path);
    else if (step.kind === 'add') tx.insert(path, writableOf(target[start + step.to]));
    index++;
  }
}

/** Replaces only the part of the text between its common prefix and suffix with the target's. */
function spliceText(tx: DocumentWriter, live: string, target: string, pointer: string): void {
  if (live === target) return;
  const { index, deleteCount, text } = spliceBetween(live, target);
  tx.spliceText(pointer, index, deleteCount, text);
}

/** The value a Y type (or primitive) holds, with its texts kept collaborative. */
function writableOf(value: unknown): Writable {
  if (value instanceof Y.Text) return new CollaborativeText(value.toString());
  if (value instanceof Y.Array) return value.toArray().map(writableOf);
  if (value instanceof Y.Map) {
    const object: { [key: string]: Writable } = {};
    for (const [key, item] of value.entries()) object[key] = writableOf(item);
    return object;
  }
  return value as Writable;
}

function isYType(value: unknown): boolean {
  return value instanceof Y.AbstractType;
}

function child(pointer: string, key: string): string {
  return formatPointer([...parsePointer(pointer), key]);
}
