/**
 * The JSON Patch from one JSON value to another, shaped for merging rather than for brevity:
 * objects change key by key, arrays by a longest-common-subsequence alignment (so an element
 * inserted in the middle is one `add`, not a replace of everything after it), and elements that
 * changed in place are diffed recursively (so editing one field of a list item does not remove
 * and re-add the item, which would erase concurrent edits to its other fields).
 */

import { isPlainObject, type Json, type JsonObject, jsonEqual } from './json.js';
import type { PatchOperation } from './json-patch.js';

/** Above this many cells the alignment falls back to pairing elements by position. */
const MAX_ALIGNMENT_CELLS = 1_000_000;

/** RFC 6902 operations that turn `from` into `to` when applied in order. */
export function diffJson(from: Json, to: Json, pointer = ''): PatchOperation[] {
  const ops: PatchOperation[] = [];
  diffInto(ops, from, to, pointer);
  return ops;
}

function diffInto(ops: PatchOperation[], from: Json, to: Json, pointer: string): void {
  if (jsonEqual(from, to)) return;
  if (isObject(from) && isObject(to)) {
    for (const key of Object.keys(from)) {
      if (!Object.hasOwn(to, key)) ops.push({ op: 'remove', path: child(pointer, key) });
    }
    for (const [key, value] of Object.entries(to)) {
      const path = child(pointer, key);
      if (Object.hasOwn(from, key)) diffInto(ops, from[key] as Json, value, path);
      else ops.push({ op: 'add', path, value });
    }
    return;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    diffArray(ops, from, to, pointer);
    return;
  }
  ops.push({ op: 'replace', path: pointer, value: to });
}

function diffArray(ops: PatchOperation[], from: readonly Json[], to: readonly Json[], pointer: string): void {
  const { start, a, b } = trimCommonEnds(from, to);
  // `index` is where the next element of `b` goes in the array being transformed.
  let index = start;
  for (const step of alignArrays(a, b)) {
    if (step.kind === 'keep') {
      index++;
    } else if (step.kind === 'change') {
      diffInto(ops, a[step.from] as Json, b[step.to] as Json, child(pointer, String(index)));
      index++;
    } else if (step.kind === 'remove') {
      ops.push({ op: 'remove', path: child(pointer, String(index)) });
    } else {
      ops.push({ op: 'add', path: child(pointer, String(index)), value: b[step.to] as Json });
      index++;
    }
  }
}

/** The arrays without their common prefix and suffix, and where the differing middle starts. */
export function trimCommonEnds<T extends Json>(
  from: readonly T[],
  to: readonly T[],
): { start: number; a: T[]; b: T[] } {
  let start = 0;
  while (start < from.length && start < to.length && jsonEqual(from[start] as Json, to[start] as Json))
    start++;
  let endFrom = from.length;
  let endTo = to.length;
  while (endFrom > start && endTo > start && jsonEqual(from[endFrom - 1] as Json, to[endTo - 1] as Json)) {
    endFrom--;
    endTo--;
  }
  return { start, a: from.slice(start, endFrom), b: to.slice(start, endTo) };
}

/** One step of an array alignment (see `alignArrays`). */
export type AlignStep =
  | { kind: 'keep' }
  | { kind: 'change'; from: number; to: number }
  | { kind: 'remove' }
  | { kind: 'add'; to: number };

/**
 * Aligns two arrays: equal elements are kept (longest common subsequence); between kept ones,
 * removed and added elements of the same container kind are paired as in-place changes.
 */
export function alignArrays(a: readonly Json[], b: readonly Json[]): AlignStep[] {
  const keys = (values: readonly Json[]) => values.map((value) => JSON.stringify(value));
  const ka = keys(a);
  const kb = keys(b);
  const matches: [number, number][] = [];
  if (a.length * b.length <= MAX_ALIGNMENT_CELLS) {
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    const width = b.length + 1;
    const lcs = new Uint32Array((a.length + 1) * width);
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i * width + j] =
          ka[i] === kb[j]
            ? (lcs[(i + 1) * width + j + 1] as number) + 1
            : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
      }
    }
    for (let i = 0, j = 0; i < a.length && j < b.length; ) {
      if (ka[i] === kb[j]) {
        matches.push([i, j]);
        i++;
        j++;
      } else if ((lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number)) i++;
      else j++;
    }
  }
  const steps: AlignStep[] = [];
  let i = 0;
  let j = 0;
  for (const [mi, mj] of [...matches, [a.length, b.length] as [number, number]]) {
    // The gap a[i..mi) → b[j..mj): pair same-kind elements in order, then remove/add the rest.
    while (i < mi && j < mj && sameKind(a[i] as Json, b[j] as Json))
      steps.push({ kind: 'change', from: i++, to: j++ });
    while (i < mi) {
      steps.push({ kind: 'remove' });
      i++;
    }
    while (j < mj) steps.push({ kind: 'add', to: j++ });
    if (mi < a.length) {
      steps.push({ kind: 'keep' });
      i = mi + 1;
      j = mj + 1;
    }
  }
  return steps;
}

function sameKind(a: Json, b: Json): boolean {
  return (isObject(a) && isObject(b)) || (Array.isArray(a) && Array.isArray(b));
}

function isObject(value: Json): value is JsonObject {
  return isPlainObject(value);
}

function child(pointer: string, key: string): string {
  return `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
