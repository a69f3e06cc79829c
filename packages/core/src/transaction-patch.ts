/**
 * Yjs → JSON Patch. The events of one transaction (local or remote) become the RFC 6902
 * operations that turn the document's JSON before it into the JSON after it, across every root
 * type (see `document-roots.ts` for the namespace). Only types that existed before the
 * transaction and still exist get events; what a transaction creates arrives inside its parent's
 * insert, so work follows the size of the change, not of the document.
 *
 * XML is shown as ProseMirror-style nodes, where a Y.XmlText is one node per run of equal marks
 * and empty `attrs` / `content` are left out: a text edit replaces the node that holds the text
 * (a paragraph), an attribute change its element, and a child list change is an `add` / `remove`
 * per child when every child is an element, else a replace of the element.
 */

import * as Y from 'yjs';
import { hasContent, ROOT_MAP, ROOTS_KEY, typedRoot, type YType } from './document-roots.js';
import type { PatchOperation } from './json-patch.js';
import { ListPositions } from './list-positions.js';
import { formatPointer } from './pointer.js';
import { toJsonValue, xmlNodeCount } from './y-value.js';

/** A step of a JSON path: an object member's name or an array index. */
export type Segment = string | number;
type AnyType = YType;
/** A Yjs event on any shared type (as `observeDeep` and a transaction's `changedParentTypes` give them). */
export type AnyEvent = Y.YEvent<YType>;

/**
 * The JSON Patch of `transaction` on `ydoc`. `shown` holds the names of the roots (other than
 * `state`) that had content before it, and is updated to after it. `positions` remembers list
 * positions between transactions (its lists changed by `transaction` must be forgotten first).
 */
export function patchOfTransaction(
  ydoc: Y.Doc,
  transaction: Y.Transaction,
  shown: Set<string>,
  positions: ListPositions = new ListPositions(),
): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const state = ydoc.getMap(ROOT_MAP);
  const stateEvents = transaction.changedParentTypes.get(state as AnyType);
  if (stateEvents !== undefined) {
    // An entry `$roots` of `state` is not shown (the name is the other roots' namespace).
    for (const op of patchOfEvents(stateEvents, [], positions)) {
      if (op.path !== `/${ROOTS_KEY}` && !op.path.startsWith(`/${ROOTS_KEY}/`)) ops.push(op);
    }
  }

  const hadRoots = shown.size > 0;
  const rootOps: PatchOperation[] = [];
  for (const [name, untyped] of [...ydoc.share]) {
    if (name === ROOT_MAP) continue;
    if (!transaction.changed.has(untyped) && !transaction.changedParentTypes.has(untyped)) continue;
    const root = typedRoot(ydoc, name);
    const now = root !== undefined && hasContent(root);
    const path = [ROOTS_KEY, name];
    if (!shown.has(name)) {
      if (now) rootOps.push({ op: 'add', path: formatPointer(path), value: toJsonValue(root) });
    } else if (!now) {
      rootOps.push({ op: 'remove', path: formatPointer(path) });
    } else {
      rootOps.push(...patchOfEvents(transaction.changedParentTypes.get(untyped) ?? [], path, positions));
    }
    if (now) shown.add(name);
    else shown.delete(name);
  }
  if (!hadRoots && shown.size > 0) {
    const value = Object.fromEntries(
      [...shown].map((name) => [name, toJsonValue(typedRoot(ydoc, name) as AnyType)]),
    );
    ops.push({ op: 'add', path: `/${ROOTS_KEY}`, value });
  } else if (hadRoots && shown.size === 0) {
    ops.push({ op: 'remove', path: `/${ROOTS_KEY}` });
  } else {
    ops.push(...rootOps);
  }
  return ops;
}

/** The names of the roots (other than `state`) of `ydoc` that have content. */
export function rootsWithContent(ydoc: Y.Doc): Set<string> {
  const names = new Set<string>();
  for (const name of [...ydoc.share.keys()]) {
    if (name === ROOT_MAP) continue;
    const root = typedRoot(ydoc, name);
    if (root !== undefined && hasContent(root)) names.add(name);
  }
  return names;
}

/**
 * The JSON Patch of the events one root received in a transaction (as `observeDeep` gives them),
 * with `prefix` the JSON path of that root.
 */
export function patchOfEvents(
  events: readonly AnyEvent[],
  prefix: readonly Segment[] = [],
  positions: ListPositions = new ListPositions(),
): PatchOperation[] {
  const live = events.filter((event) => event.target._item === null || !event.target._item.deleted);
  // XML: nodes replaced whole (the holder of an edited text, an element whose attributes or
  // mixed children changed). An event at or under such a node is covered by its replace.
  const whole = new Set<AnyType>();
  for (const event of live) {
    const target = event.target;
    if (target instanceof Y.XmlText) {
      const parent = target._item?.parent;
      whole.add(parent instanceof Y.XmlFragment ? parent : target);
    } else if (target instanceof Y.XmlFragment) {
      const xml = event as unknown as Y.YXmlEvent;
      const attributes = target instanceof Y.XmlElement && xml.attributesChanged.size > 0;
      if (
        attributes ||
        ((xml as unknown as { childListChanged: boolean }).childListChanged &&
          !childrenAddressable(event, target))
      )
        whole.add(target);
    }
  }
  const covered = (type: AnyType): boolean => {
    for (let t: AnyType | null = type; t !== null; t = parentOf(t)) if (whole.has(t)) return true;
    return false;
  };

  const steps: { depth: number; ops: PatchOperation[] }[] = [];
  for (const node of whole) {
    if (parentOf(node) !== null && covered(parentOf(node) as AnyType)) continue;
    const path = pathOf(node, prefix, positions);
    if (path !== undefined)
      steps.push({
        depth: path.length,
        ops: [{ op: 'replace', path: formatPointer(path), value: toJsonValue(node) }],
      });
  }
  for (const event of live) {
    const target = event.target;
    if (covered(target) || target instanceof Y.XmlText) continue;
    const path = pathOf(target, prefix, positions);
    if (path === undefined) continue;
    steps.push({ depth: path.length, ops: opsOfEvent(event, path) });
  }
  // Paths are in the new state. Emitting parents first makes each child's path valid at the
  // moment its operations apply: every ancestor already has its final shape.
  steps.sort((a, b) => a.depth - b.depth);
  return steps.flatMap((step) => step.ops);
}

function opsOfEvent(event: AnyEvent, path: Segment[]): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const target = event.target;
  if (target instanceof Y.Map) {
    for (const [key, change] of event.changes.keys) {
      const pointer = formatPointer([...path, key]);
      if (change.action === 'delete') ops.push({ op: 'remove', path: pointer });
      else
        ops.push({
          op: change.action === 'add' ? 'add' : 'replace',
          path: pointer,
          value: toJsonValue(target.get(key)),
        });
    }
  } else if (target instanceof Y.Array || target instanceof Y.XmlFragment) {
    // An XML parent here has only element children (see `childrenAddressable`): one node each.
    const list = target instanceof Y.XmlFragment ? [...path, 'content'] : path;
    let index = 0;
    for (const part of event.changes.delta) {
      if (part.retain !== undefined) index += part.retain;
      else if (part.delete !== undefined) {
        const pointer = formatPointer([...list, index]);
        for (let i = 0; i < part.delete; i++) ops.push({ op: 'remove', path: pointer });
      } else if (Array.isArray(part.insert)) {
        for (const item of part.insert) {
          ops.push({ op: 'add', path: formatPointer([...list, index]), value: toJsonValue(item) });
          index++;
        }
      }
    }
  } else if (target instanceof Y.Text) {
    // JSON Patch has no string splice: a text change replaces the string. (Yjs builds a text
    // event's delta by walking the whole text, so it is not consulted.)
    ops.push({ op: 'replace', path: formatPointer(path), value: toJsonValue(target) });
  }
  return ops;
}

/**
 * True when an XML parent's child list change can be told child by child: every child before and
 * after is an element (one JSON node each) and `content` neither appears nor disappears.
 */
function childrenAddressable(event: AnyEvent, parent: Y.XmlFragment): boolean {
  for (let item = parent._start; item !== null; item = item.right) {
    if (!item.deleted && item.content instanceof Y.ContentType && item.content.type instanceof Y.XmlText)
      return false;
  }
  let inserted = 0;
  let deleted = 0;
  for (const part of event.changes.delta) {
    if (Array.isArray(part.insert)) inserted += part.insert.length;
    if (part.delete !== undefined) deleted += part.delete;
  }
  for (const item of event.changes.deleted) {
    if (item.content instanceof Y.ContentType && item.content.type instanceof Y.XmlText) return false;
  }
  const after = parent._length;
  return after > 0 && after - inserted + deleted > 0;
}

function parentOf(type: AnyType): AnyType | null {
  const parent = type._item?.parent;
  return parent instanceof Y.AbstractType ? parent : null;
}

/**
 * The JSON path of a type in the new state (`prefix` being its root's), or `undefined` when the
 * type is not shown on its own (an embed inside a text).
 */
function pathOf(type: AnyType, prefix: readonly Segment[], positions: ListPositions): Segment[] | undefined {
  const segments: Segment[] = [];
  for (let child = type; child._item !== null; ) {
    const item = child._item;
    const parent = item.parent;
    if (!(parent instanceof Y.AbstractType)) return undefined;
    if (item.parentSub !== null) {
      segments.push(item.parentSub);
      if (parent instanceof Y.XmlElement) segments.push('attrs');
    } else if (parent instanceof Y.XmlFragment) {
      let index = 0;
      for (let left = item.left; left !== null; left = left.left) {
        if (!left.deleted && left.content instanceof Y.ContentType) index += xmlNodeCount(left.content.type);
      }
      segments.push(index, 'content');
    } else if (parent instanceof Y.Array) {
      segments.push(positions.indexOf(item, arrayWidth));
    } else {
      return undefined;
    }
    child = parent;
  }
  return [...prefix, ...segments.reverse()];
}

/** How many JSON array positions an item of a Y.Array takes. */
function arrayWidth(item: Y.Item): number {
  return item.countable ? item.length : 0;
}
