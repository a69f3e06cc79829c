/**
 * What a document's log records. `update`: one entry per Yjs update. `transaction`: the updates of
 * one engine call (a `write`, a `receive` of several updates) merge into one entry. `window`:
 * consecutive updates from one origin within `windowMs` merge into one entry. `lifecycle`: only
 * lifecycle events (with the state changes they make) are logged; the rest of the state is kept
 * as checkpoints. Replay is exact at the granularity chosen: one step per entry.
 */

import { compilePattern } from './path-pattern.js';

/** What a document's log records: every Yjs update, one entry per transaction, updates coalesced over `windowMs`, or lifecycle events only (docs/architecture.md, "Granularity"). */
export type Granularity =
  | { mode: 'update' }
  | { mode: 'transaction' }
  | { mode: 'window'; windowMs: number }
  | { mode: 'lifecycle' };

/** A granularity for the documents whose id matches `docs` (`*` one segment, `**` any depth). */
export interface GranularityRule {
  docs: string;
  granularity: Granularity;
}

/** The granularity for a document: the first matching rule's, else `fallback`. */
export function granularityFor(
  docId: string,
  rules: readonly GranularityRule[],
  fallback: Granularity,
): Granularity {
  for (const rule of rules) {
    if (compilePattern(`/${rule.docs}`).matches(docId.split('/'))) return rule.granularity;
  }
  return fallback;
}
