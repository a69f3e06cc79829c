/**
 * Applying RFC 6902 JSON Patch to plain JSON without changing it: the result shares every part the
 * patch did not touch with the input, so a UI can compare subtrees by reference to know what changed.
 */

import type { Json, PatchOperation } from './json.js';

type Container = Json[] | { [key: string]: Json };

/** The JSON after `ops` (all of them or none: throws on the first that does not apply). `value` is not modified. */
export function applyPatch(value: Json, ops: readonly PatchOperation[]): Json {
  let root = value;
  for (const op of ops) root = applyOperation(root, op);
  return root;
}

function applyOperation(root: Json, op: PatchOperation): Json {
  switch (op.op) {
    case 'add':
      return write(root, parsePointer(op.path), 'add', op.value);
    case 'replace':
      return write(root, parsePointer(op.path), 'replace', op.value);
    case 'remove':
      return write(root, parsePointer(op.path), 'remove', null);
    case 'move': {
      const value = read(root, parsePointer(op.from));
      return write(write(root, parsePointer(op.from), 'remove', null), parsePointer(op.path), 'add', value);
    }
    case 'copy':
      return write(root, parsePointer(op.path), 'add', read(root, parsePointer(op.from)));
    case 'test':
      if (!equal(read(root, parsePointer(op.path)), op.value)) throw new Error(`test failed at "${op.path}"`);
      return root;
    default:
      throw new Error(`unknown patch operation ${JSON.stringify((op as { op: unknown }).op)}`);
  }
}

/** The segments of an RFC 6901 JSON Pointer. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON Pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `segments` in `root`, or undefined when nothing is there. */
export function valueAt(root: Json, segments: readonly string[]): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of segments) {
    if (Array.isArray(node)) node = /^(0|[1-9][0-9]*)$/.test(segment) ? node[Number(segment)] : undefined;
    else if (node !== null && typeof node === 'object')
      node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function read(root: Json, segments: readonly string[]): Json {
  const value = valueAt(root, segments);
  if (value === undefined) throw new Error(`nothing at "/${segments.join('/')}"`);
  return value;
}

/** `root` with the slot at `segments` added, replaced or removed: a copy along the path only. */
function write(
  root: Json,
  segments: readonly string[],
  kind: 'add' | 'replace' | 'remove',
  value: Json,
): Json {
  const [head, ...rest] = segments;
  if (head === undefined) {
    if (kind === 'remove') throw new Error('cannot remove the root');
    return value;
  }
  if (root === null || typeof root !== 'object') throw new Error(`cannot write "${head}" into a scalar`);
  const container: Container = Array.isArray(root) ? [...root] : { ...root };
  if (Array.isArray(container)) {
    const last = rest.length === 0;
    const index = head === '-' && last && kind === 'add' ? container.length : indexOf(head);
    const max = last && kind === 'add' ? container.length : container.length - 1;
    if (index > max) throw new Error(`index ${head} is out of bounds`);
    if (!last) container[index] = write(container[index] as Json, rest, kind, value);
    else if (kind === 'add') container.splice(index, 0, value);
    else if (kind === 'replace') container[index] = value;
    else container.splice(index, 1);
    return container;
  }
  if (rest.length > 0) {
    if (!Object.hasOwn(container, head)) throw new Error(`nothing at "${head}"`);
    container[head] = write(container[head] as Json, rest, kind, value);
  } else if (kind === 'remove') {
    if (!Object.hasOwn(container, head)) throw new Error(`nothing to remove at "${head}"`);
    delete container[head];
  } else {
    if (kind === 'replace' && !Object.hasOwn(container, head))
      throw new Error(`nothing to replace at "${head}"`);
    container[head] = value;
  }
  return container;
}

function indexOf(segment: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw new Error(`"${segment}" is not an array index`);
  return Number(segment);
}

function equal(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => equal(item, b[i] as Json));
  const ka = Object.keys(a);
  const bo = b as { [key: string]: Json };
  return (
    ka.length === Object.keys(bo).length &&
    ka.every(
      (key) => Object.hasOwn(bo, key) && equal((a as { [key: string]: Json })[key] as Json, bo[key] as Json),
    )
  );
}
