/**
 * How two JSON Patch paths relate, for coalescing and rebasing without reading the document:
 * the same location, one inside the other, or an array insert/remove that shifts the other's index.
 */

import type { PatchOperation } from '@ystate/core';

/** How an earlier operation at `x` relates to the location `p`. */
export type PathRelation = 'equal' | 'inside' | 'ancestor' | 'shifts' | 'unrelated';

const INDEX = /^(0|[1-9][0-9]*)$/;

/** True when a pointer segment may be an array index (object keys that look like one are treated alike). */
export function isIndexSegment(segment: string): boolean {
  return INDEX.test(segment);
}

/**
 * The relation of operation `op` (whose path is `x`) to location `p`: `inside` when `x` lies below
 * `p`, `ancestor` when `x` contains `p`, `shifts` when `op` inserts or removes an array element at
 * or before the element `p` goes through (so `p` names a different element before and after it).
 */
export function relationTo(
  x: readonly string[],
  op: PatchOperation['op'],
  p: readonly string[],
): PathRelation {
  const common = Math.min(x.length, p.length);
  let i = 0;
  while (i < common && x[i] === p[i]) i++;
  if (i === common) {
    if (x.length === p.length) return 'equal';
    return x.length > p.length ? 'inside' : 'ancestor';
  }
  // Diverged at depth i: only an insert/remove of a sibling array element at i can move `p`.
  if ((op === 'add' || op === 'remove') && i === x.length - 1) {
    const xs = x[i] as string;
    const ps = p[i] as string;
    if (isIndexSegment(xs) && isIndexSegment(ps) && Number(xs) <= Number(ps)) return 'shifts';
  }
  return 'unrelated';
}
