/** Checks on Yjs updates that arrive from outside (clients, agents) before they touch a document. */

import * as Y from 'yjs';
import { ErrorCode, YStateError } from './errors.js';

/** A Yjs update decoded into its structs and delete set. */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>;

/** Checks that bytes are a well-formed Yjs update; INVALID_UPDATE otherwise. Returns the decoded update. */
export function assertUpdate(update: Uint8Array): DecodedUpdate {
  try {
    return Y.decodeUpdate(update);
  } catch (cause) {
    throw new YStateError({ code: ErrorCode.INVALID_UPDATE, message: 'not a valid Yjs update', cause });
  }
}

/**
 * True when an update adds nothing to `ydoc`: every struct and every deletion in it is there
 * already — a reconnecting client's sync step 2, a duplicate. Work follows the update's size, not
 * the document's. A malformed update is refused with INVALID_UPDATE (as `assertUpdate`).
 */
export function addsNothing(ydoc: Y.Doc, update: Uint8Array | DecodedUpdate): boolean {
  const { structs, ds } = update instanceof Uint8Array ? assertUpdate(update) : update;
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue;
    if (struct.id.clock + struct.length > Y.getState(ydoc.store, struct.id.client)) return false;
  }
  for (const [client, deletions] of ds.clients) {
    const known = ydoc.store.clients.get(client);
    if (known === undefined) return false;
    const state = Y.getState(ydoc.store, client);
    for (const { clock, len } of deletions) {
      if (len === 0) continue;
      if (clock + len > state) return false;
      for (let i = Y.findIndexSS(known, clock); i < known.length; i++) {
        const struct = known[i] as Y.Item | Y.GC;
        if (struct.id.clock >= clock + len) break;
        if (!struct.deleted) return false;
      }
    }
  }
  return true;
}
