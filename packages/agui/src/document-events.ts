/** A document (or a subtree of it) as an async iterable of AG-UI state events. */

import type { BaseEvent } from '@ag-ui/core';
import type { Engine } from '@ystate/core';
import { DocumentStream, type DocumentStreamOptions } from './document-stream.js';

/** Options of `documentEvents` (those of a document stream, without value sharing). */
export type DocumentEventsOptions = Omit<DocumentStreamOptions, 'shareValues'>;

/**
 * STATE_SNAPSHOT of the document (or the subtree at `path`) with the seq it reflects, then a
 * STATE_DELTA per batch of committed changes (changes of one event-loop turn together, redundant
 * operations coalesced), or a fresh STATE_SNAPSHOT when a delta cannot or should not be used.
 * Each delta applies with fast-json-patch to the state the consumer has; `metadata.ystate.seq`
 * names the log seq of the state after the event. Ends when `signal` aborts or the loop breaks.
 */
export async function* documentEvents(
  engine: Engine,
  docId: string,
  options: DocumentEventsOptions = {},
): AsyncGenerator<BaseEvent, void, undefined> {
  const stream = await DocumentStream.open(engine, docId, options);
  try {
    for (let event = await stream.next(); event !== undefined; event = await stream.next()) yield event;
  } finally {
    stream.close();
  }
}
