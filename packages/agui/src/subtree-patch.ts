/**
 * Rebasing a document patch onto a subtree (the JSON at a pointer): operations below it keep their
 * path relative to it, operations elsewhere are dropped, and anything that replaces, removes or
 * moves the subtree itself (an ancestor written, an array element inserted or removed before it)
 * means the consumer needs a fresh snapshot instead.
 */

import { formatPointer, type PatchOperation, parsePointer } from '@ystate/core';
import { relationTo } from './patch-paths.js';

/** The subtree's share of a patch, or `snapshot` when a patch cannot express what happened to it. */
export type SubtreePatch = { kind: 'patch'; ops: PatchOperation[] } | { kind: 'snapshot' };

const SNAPSHOT: SubtreePatch = { kind: 'snapshot' };

/** The operations of `ops` that concern the subtree at `root` (segments), rebased onto it. */
export function subtreePatch(ops: readonly PatchOperation[], root: readonly string[]): SubtreePatch {
  if (root.length === 0) return { kind: 'patch', ops: [...ops] };
  const rebased: PatchOperation[] = [];
  for (const op of ops) {
    const path = parsePointer(op.path);
    // A move or copy inserts at `path` like an add does.
    const relation = relationTo(path, op.op === 'move' || op.op === 'copy' ? 'add' : op.op, root);
    if (op.op === 'move' || op.op === 'copy') {
      const from = parsePointer(op.from);
      const fromRelation = relationTo(from, op.op === 'move' ? 'remove' : 'test', root);
      if (relation === 'inside' && fromRelation === 'inside') {
        rebased.push({ ...op, path: relative(path, root), from: relative(from, root) });
        continue;
      }
      if (relation === 'unrelated' && (fromRelation === 'unrelated' || op.op === 'copy')) continue;
      return SNAPSHOT;
    }
    if (relation === 'inside') rebased.push({ ...op, path: relative(path, root) });
    else if (relation !== 'unrelated' && op.op !== 'test') return SNAPSHOT;
  }
  return { kind: 'patch', ops: rebased };
}

function relative(path: readonly string[], root: readonly string[]): string {
  return formatPointer(path.slice(root.length));
}
