/**
 * Named versions pin the history they need. Pruning — the engine's `retainEntries`, `ystate
 * compact --retain`, anything that prunes through `pinVersions(log)` — stops where a named version
 * would lose the checkpoint and entries its state is rebuilt from, or the entry that names it. A
 * deleted version releases its pin. See docs/versions.md, "Checkpoints and pruning".
 */

import type { UpdateLog } from './update-log.js';
import { listVersions, type NamedVersion } from './versions.js';

/** Where pruning may go: below `seq`; `pinnedBy` is the version that held it back, if any. */
export interface PrunePoint {
  seq: number;
  pinnedBy?: NamedVersion;
}

/**
 * The highest seq at most `seq` below which entries may be pruned while every named version of the
 * document stays listed and rebuildable. Reads the document's retained lifecycle entries.
 */
export async function prunePoint(log: UpdateLog, docId: string, seq: number): Promise<PrunePoint> {
  let point: PrunePoint = { seq };
  for (const version of await listVersions(log, docId)) {
    // The state at version.seq is the checkpoint at or before it plus the entries after that
    // checkpoint: pruning below the checkpoint's seq keeps both (and the naming entry, which is later).
    const base =
      version.seq === 0 ? version.namedAt : ((await log.latestCheckpoint(docId, version.seq))?.seq ?? 1);
    const keep = Math.max(1, Math.min(base, version.namedAt));
    if (keep < point.seq) point = { seq: keep, pinnedBy: version };
  }
  return point;
}

/** The log, with `prune` held back by the named versions of each document (every other method as is). */
export function pinVersions(log: UpdateLog): UpdateLog {
  const prune = async (docId: string, seq: number): Promise<void> => {
    const point = await prunePoint(log, docId, seq);
    if (point.seq > 1) await log.prune(docId, point.seq);
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(log, {
    get(target, property) {
      if (property === 'prune') return prune;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Methods run on the log itself (stores keep private state), bound once.
      const method = bound.get(property) ?? value.bind(target);
      bound.set(property, method);
      return method;
    },
  });
}
