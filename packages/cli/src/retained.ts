/**
 * What the history commands (replay, inspect, compact) need to know about a document's log
 * besides what `UpdateLog` answers directly: whether it has history, where the retained part
 * starts, and a view that decodes compressed payloads.
 */

import type { UpdateLog } from '@ystate/core';
import { withCodecs } from '@ystate/core/codecs';

/**
 * The log with compressed payloads inflated. Encrypted ones are refused with UNKNOWN_KEY when
 * read: the CLI is given no keys (backup and restore copy them as stored, and need none).
 */
export function decodingView(log: UpdateLog): UpdateLog {
  return withCodecs(log, {});
}

/** The head of a document, or an error saying it has no history in the store. */
export async function headOf(log: UpdateLog, docId: string, description: string): Promise<number> {
  const head = await log.head(docId);
  if (head === 0) throw new Error(`"${docId}" has no history in ${description}`);
  return head;
}

/**
 * The first seq the log still holds (head + 1 when everything was pruned). Retained entries are
 * a suffix of the history, so a binary search over one-entry reads finds it.
 */
export async function firstRetainedSeq(log: UpdateLog, docId: string, head: number): Promise<number> {
  let low = 1;
  let high = head + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const [entry] = await log.read(docId, { from: mid, to: mid });
    if (entry === undefined) low = mid + 1;
    else high = mid;
  }
  return low;
}
