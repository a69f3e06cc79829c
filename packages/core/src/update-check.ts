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

/**
 * True when Yjs will integrate `update` into `ydoc` whole, at once and without throwing — judged
 * from its structure alone, conservatively: every struct continues its client's clock exactly
 * where `ydoc` (or an earlier struct of the same client in the update) ends, every origin and
 * parent it names is already in `ydoc` or is such an earlier struct, every deletion is a
 * non-empty range inside what `ydoc` will hold, and `ydoc` has nothing pending. `before` gives, per client, where
 * updates that will be integrated first (in order, and cleanly) end. That is what an editor's
 * update almost always is. `false` says nothing about the update: it may still be fine, and must then be tried
 * on a replica (Yjs can throw part-way through an update it decoded without complaint).
 */
export function integratesCleanly(
  ydoc: Y.Doc,
  { structs, ds }: DecodedUpdate,
  before: ReadonlyMap<number, number> = new Map(),
): boolean {
  const store = ydoc.store;
  if (store.pendingStructs !== null || store.pendingDs !== null) return false;
  const stateOf = (client: number) => Math.max(Y.getState(store, client), before.get(client) ?? 0);
  /** Where each client of the update ends, once its structs are integrated. */
  const ends = new Map<number, number>();
  const known = (id: Y.ID | null, from: Y.ID): boolean => {
    if (id === null) return true;
    // The same client: an earlier clock (in the document, or integrated just before it).
    if (id.client === from.client) return id.clock < from.clock;
    return id.clock < stateOf(id.client);
  };
  for (const struct of structs) {
    if (struct instanceof Y.Skip) return false;
    const { client, clock } = struct.id;
    if (clock !== (ends.get(client) ?? stateOf(client))) return false;
    ends.set(client, clock + struct.length);
    if (!(struct instanceof Y.Item)) continue;
    if (!known(struct.origin, struct.id) || !known(struct.rightOrigin, struct.id)) return false;
    if (struct.parent instanceof Y.ID && !known(struct.parent, struct.id)) return false;
  }
  for (const [client, deletions] of ds.clients) {
    const end = ends.get(client) ?? stateOf(client);
    // Yjs never writes an empty range, and chokes on one beyond what it holds.
    for (const { clock, len } of deletions) if (len <= 0 || clock + len > end) return false;
  }
  return true;
}
