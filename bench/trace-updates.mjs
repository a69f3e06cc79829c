/**
 * The automerge-paper trace as the Yjs updates ystate logs for it, shared by the scenarios that
 * load or append it (trace-load, redis-trace-load, redis-append): its first `editCount` edits
 * applied to a `Y.Text` at `/text` of a `StateDocument`, one update creating the text and then one
 * per edit, with the text they must give.
 */

import { performance } from 'node:perf_hooks';
import { collaborativeText, StateDocument } from '@ystate/core';
import { loadSequentialTrace } from '@ystate/core/testing/traces';

/**
 * Captures the updates of the first `editCount` edits. `onUpdate(update, count, ydoc)` sees each
 * one as it is made (`count` updates so far), e.g. to encode a checkpoint at some seq. Resolves with
 * `{ updates, expected, captureMs }`; `expected` is computed by plain string splicing (independent
 * of Yjs) and checked against the document, and against the trace's `endContent` for all edits.
 */
export function captureTraceUpdates(editCount, { onUpdate = () => {} } = {}) {
  const trace = loadSequentialTrace('automerge-paper');
  const edits = trace.txns.flatMap((txn) => txn.patches).slice(0, editCount);
  if (edits.length !== editCount) throw new Error(`the trace has ${edits.length} edits, not ${editCount}`);

  let expected = trace.startContent;
  for (const [pos, del, text] of edits) expected = expected.slice(0, pos) + text + expected.slice(pos + del);
  if (edits.length === trace.txns.length && expected !== trace.endContent) {
    throw new Error('splicing every edit of the trace does not give its endContent');
  }

  const started = performance.now();
  const updates = [];
  const doc = new StateDocument('capture');
  doc.ydoc.on('update', (update) => {
    updates.push(update);
    onUpdate(update, updates.length, doc.ydoc);
  });
  doc.set('/text', collaborativeText(trace.startContent));
  for (const [pos, del, text] of edits) doc.spliceText('/text', pos, del, text);
  const text = doc.get('/text');
  doc.destroy();
  if (text !== expected) throw new Error('the StateDocument text differs from the expected text');
  if (updates.length !== editCount + 1)
    throw new Error(`captured ${updates.length} updates, not ${editCount + 1}`);
  return { updates, expected, captureMs: performance.now() - started };
}
