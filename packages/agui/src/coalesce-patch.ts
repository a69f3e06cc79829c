/**
 * Coalescing: the operations of several changes, concatenated, rewritten into a shorter patch with
 * the same effect. Works on paths alone (no document needed), looking back a bounded number of
 * operations, so the cost follows the size of the batch.
 *
 * Rules (an earlier operation X, a later operation N at path P):
 * - N replaces or removes P: every earlier X at P or below it is dropped (N overwrites it); an
 *   `add` at P followed by `remove` P cancels out, followed by `replace` P becomes one `add`.
 * - N adds at P right after a `remove` at P: the two become one `replace`.
 * Patches are expected in the shape the engine emits: `add` to an object creates a member that
 * was absent (an existing member changes by `replace`).
 * Looking back stops at anything that could change what P names: an insert/remove of an array
 * element at or before P's index, an operation on an ancestor of P, a `remove` at P itself (in an
 * array the next element moves into P), and `move`/`copy`/`test` (never emitted by the engine).
 */

import { type PatchOperation, parsePointer } from '@ystate/core';
import { relationTo } from './patch-paths.js';

/** How many earlier operations a new one is compared with. */
const LOOK_BACK = 64;

interface Slot {
  op: PatchOperation;
  path: string[];
}

/** A patch equivalent to `ops` (applied in order to the same JSON, the same result), usually shorter. */
export function coalescePatch(ops: readonly PatchOperation[]): PatchOperation[] {
  if (ops.length < 2) return [...ops];
  const out: (Slot | undefined)[] = [];
  for (const op of ops) {
    const slot: Slot = { op, path: [...parsePointer(op.path)] };
    let kept: Slot | undefined = slot;
    if (op.op === 'replace' || op.op === 'remove') kept = absorb(out, out.length, slot);
    else if (op.op === 'add') kept = mergeRemoveThenAdd(out, slot);
    if (kept) out.push(kept);
  }
  const result: PatchOperation[] = [];
  for (const slot of out) if (slot) result.push(slot.op);
  return result;
}

/**
 * `slot` (a replace or remove) drops what it overwrites among `out[0..end)`; returns what remains
 * of it. `between` holds operations after `end` that stay between a dropped op and `slot`.
 */
function absorb(out: (Slot | undefined)[], end: number, slot: Slot, between: Slot[] = []): Slot | undefined {
  let seen = 0;
  for (let i = end - 1; i >= 0 && seen < LOOK_BACK; i--) {
    const earlier = out[i];
    if (earlier === undefined) continue;
    seen++;
    const { op } = earlier;
    if (op.op === 'move' || op.op === 'copy' || op.op === 'test') return slot;
    const relation = relationTo(earlier.path, op.op, slot.path);
    if (relation === 'inside') {
      out[i] = undefined;
    } else if (relation === 'equal') {
      if (op.op === 'remove') return slot;
      if (op.op === 'add') {
        // Dropping an insert renumbers what it shifted: only when nothing in between was.
        if (shiftsAny(earlier, between)) return slot;
        out[i] = undefined;
        // P did not exist before that add (or, in an array, was inserted there): nothing older matters.
        if (slot.op.op === 'remove') return undefined;
        if (slot.op.op === 'replace')
          return { op: { op: 'add', path: slot.op.path, value: slot.op.value }, path: slot.path };
        return slot;
      }
      out[i] = undefined;
    } else if (relation === 'ancestor' || relation === 'shifts') {
      return slot;
    } else {
      between.push(earlier);
    }
  }
  return slot;
}

/** An `add` right after a `remove` of the same location is a `replace`, which may absorb more. */
function mergeRemoveThenAdd(out: (Slot | undefined)[], slot: Slot): Slot {
  const add = slot.op;
  if (add.op !== 'add') return slot;
  const between: Slot[] = [];
  let seen = 0;
  for (let i = out.length - 1; i >= 0 && seen < LOOK_BACK; i--) {
    const earlier = out[i];
    if (earlier === undefined) continue;
    seen++;
    const { op } = earlier;
    if (op.op === 'move' || op.op === 'copy' || op.op === 'test') return slot;
    const relation = relationTo(earlier.path, op.op, slot.path);
    if (relation === 'unrelated') {
      between.push(earlier);
      continue;
    }
    if (relation === 'equal' && op.op === 'remove' && !shiftsAny(earlier, between)) {
      out[i] = undefined;
      const replace: Slot = { op: { op: 'replace', path: add.path, value: add.value }, path: slot.path };
      return absorb(out, i, replace, between) ?? replace;
    }
    return slot;
  }
  return slot;
}

/** True when `op` (an insert or removal) moves any of `others` to another index. */
function shiftsAny(op: Slot, others: readonly Slot[]): boolean {
  return others.some((other) => {
    const relation = relationTo(op.path, op.op.op, other.path);
    return relation === 'shifts' || (other.op.op !== 'replace' && relation === 'equal');
  });
}
