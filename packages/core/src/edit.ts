/**
 * An all-or-nothing edit of a document's JSON view. Operations run against a copy-on-write draft
 * of the containers they touch, so a failing operation leaves the document untouched; `commit`
 * then replays the recorded primitive mutations on the Y types in one transaction. The path API
 * and JSON Patch application both go through here, so they share one set of semantics.
 */

import * as Y from 'yjs';
import { ErrorCode, YStateError } from './errors.js';
import { cloneJson, hasLoneSurrogate, isPlainObject, type Json, jsonEqual, keyFault } from './json.js';
import type { PatchOperation } from './json-patch.js';
import { formatPointer, parseIndex, parsePointer } from './pointer.js';
import {
  assertWritable,
  CollaborativeText,
  cloneWritable,
  toJsonValue,
  toYValue,
  type Writable,
} from './y-value.js';

type YContainer = Y.Map<unknown> | Y.Array<unknown>;

/** A change to one Y type, recorded during the dry run and replayed by `commit`. */
type Mutation =
  | { kind: 'set'; target: Y.Map<unknown>; key: string; value: unknown }
  | { kind: 'delete'; target: Y.Map<unknown>; key: string }
  | { kind: 'insert'; target: Y.Array<unknown>; index: number; value: unknown }
  | { kind: 'remove'; target: Y.Array<unknown>; index: number }
  | { kind: 'splice'; target: Y.Text; index: number; deleteCount: number; text: string };

const DELETED = Symbol('deleted');

/** A `Y.Text` whose content this edit has rewritten (still the same shared text). Its string is built only if read. */
class TextDraft {
  private computed: string | undefined;
  constructor(
    readonly target: Y.Text,
    private readonly compute: () => string,
  ) {}
  get value(): string {
    this.computed ??= this.compute();
    return this.computed;
  }
}

/** A container in the draft: a Y type seen through its overrides, or a plain value this edit owns. */
interface Node {
  readonly isArray: boolean;
  size(): number;
  has(key: string): boolean;
  get(key: string | number): unknown;
  keys(): string[];
  set(key: string, value: unknown): void;
  delete(key: string): void;
  insert(index: number, value: unknown): void;
  remove(index: number): void;
  /** Puts a draft-only value in a slot without recording a mutation (the caller recorded one). */
  replaceDraft(key: string | number, slot: unknown): void;
}

class MapDraft implements Node {
  readonly isArray = false;
  private readonly overrides = new Map<string, unknown>();

  constructor(
    private readonly source: Y.Map<unknown>,
    private readonly log: Mutation[],
  ) {}

  size(): number {
    return this.keys().length;
  }
  has(key: string): boolean {
    return this.overrides.has(key) ? this.overrides.get(key) !== DELETED : this.source.has(key);
  }
  get(key: string | number): unknown {
    const k = String(key);
    if (!this.overrides.has(k)) return this.source.get(k);
    const value = this.overrides.get(k);
    return value === DELETED ? undefined : value;
  }
  keys(): string[] {
    const keys = new Set(this.source.keys());
    for (const [key, value] of this.overrides) {
      if (value === DELETED) keys.delete(key);
      else keys.add(key);
    }
    return [...keys];
  }
  set(key: string, value: unknown): void {
    const text = textTarget(this.get(key));
    if (text !== undefined && typeof value === 'string') {
      this.overrides.set(key, rewriteText(text, textOf(this.get(key)), value, this.log));
      return;
    }
    this.log.push({ kind: 'set', target: this.source, key, value });
    this.overrides.set(key, value);
  }
  delete(key: string): void {
    this.log.push({ kind: 'delete', target: this.source, key });
    this.overrides.set(key, DELETED);
  }
  replaceDraft(key: string | number, slot: unknown): void {
    this.overrides.set(String(key), slot);
  }
  insert(): void {
    throw new Error('unreachable: insert into a map');
  }
  remove(): void {
    throw new Error('unreachable: remove from a map');
  }
}

class ArrayDraft implements Node {
  readonly isArray = true;
  private items: unknown[] | undefined;

  constructor(
    private readonly source: Y.Array<unknown>,
    private readonly log: Mutation[],
  ) {}

  size(): number {
    return this.items ? this.items.length : this.source.length;
  }
  has(): boolean {
    return false;
  }
  get(key: string | number): unknown {
    const index = Number(key);
    return this.items ? this.items[index] : this.source.get(index);
  }
  keys(): string[] {
    return Array.from({ length: this.size() }, (_, i) => String(i));
  }
  set(key: string, value: unknown): void {
    const index = Number(key);
    const text = textTarget(this.get(index));
    const items = this.writable();
    if (text !== undefined && typeof value === 'string') {
      items[index] = rewriteText(text, textOf(this.get(index)), value, this.log);
      return;
    }
    this.log.push({ kind: 'remove', target: this.source, index });
    this.log.push({ kind: 'insert', target: this.source, index, value });
    items[index] = value;
  }
  delete(key: string): void {
    this.remove(Number(key));
  }
  insert(index: number, value: unknown): void {
    this.log.push({ kind: 'insert', target: this.source, index, value });
    this.writable().splice(index, 0, value);
  }
  remove(index: number): void {
    this.log.push({ kind: 'remove', target: this.source, index });
    this.writable().splice(index, 1);
  }
  replaceDraft(key: string | number, slot: unknown): void {
    this.writable()[Number(key)] = slot;
  }
  private writable(): unknown[] {
    this.items ??= this.source.toArray();
    return this.items;
  }
}

/** A plain object or array that this edit created; it is mutated in place until commit. */
class PlainNode implements Node {
  readonly isArray: boolean;
  constructor(private readonly value: Record<string, unknown> | unknown[]) {
    this.isArray = Array.isArray(value);
  }
  size(): number {
    return this.keys().length;
  }
  has(key: string): boolean {
    return !this.isArray && Object.hasOwn(this.value, key);
  }
  get(key: string | number): unknown {
    return (this.value as Record<string, unknown>)[key];
  }
  keys(): string[] {
    return Object.keys(this.value);
  }
  set(key: string, value: unknown): void {
    (this.value as Record<string, unknown>)[key] = value;
  }
  delete(key: string): void {
    if (Array.isArray(this.value)) this.value.splice(Number(key), 1);
    else delete this.value[key];
  }
  insert(index: number, value: unknown): void {
    (this.value as unknown[]).splice(index, 0, value);
  }
  remove(index: number): void {
    (this.value as unknown[]).splice(index, 1);
  }
  replaceDraft(key: string | number, slot: unknown): void {
    (this.value as Record<string, unknown>)[key] = slot;
  }
}

function textTarget(value: unknown): Y.Text | undefined {
  if (value instanceof Y.Text) return value;
  if (value instanceof TextDraft) return value.target;
  return undefined;
}

/** Where a pointer leads: the container holding it and the key within. */
interface Location {
  parent: Node;
  key: string;
  pointer: string;
}

/** One all-or-nothing edit of the JSON view under `root`; see the module comment. */
export class Edit {
  private readonly log: Mutation[] = [];
  private readonly drafts = new Map<YContainer, Node>();
  /** Plain objects and arrays this edit created (and may mutate in place until commit). */
  private readonly owned = new WeakSet<object>();
  private readonly rootNode: Node;

  constructor(private readonly root: Y.Map<unknown>) {
    this.rootNode = this.nodeOf(root) as Node;
  }

  /** The JSON at `pointer` as this edit currently sees it, or `undefined` when nothing is there. */
  read(pointer: string): Json | undefined {
    const segments = parsePointer(pointer);
    let node: Node = this.rootNode;
    for (let i = 0; i < segments.length; i++) {
      const slot = childSlot(node, segments[i] as string);
      if (slot === undefined) return undefined;
      if (i === segments.length - 1) return this.json(slot);
      const next = this.nodeOf(slot);
      if (next === undefined) return undefined;
      node = next;
    }
    return this.json(this.root);
  }

  /** Applies one RFC 6902 operation to the draft; throws (and the edit must be dropped) on failure. */
  apply(operation: PatchOperation): void {
    switch (operation.op) {
      case 'add':
        this.add(operation.path, cloneJson(operation.value));
        return;
      case 'remove':
        this.remove(operation.path);
        return;
      case 'replace':
        this.replace(operation.path, cloneJson(operation.value));
        return;
      case 'move': {
        if (operation.path.startsWith(`${operation.from}/`)) {
          throw new YStateError({
            code: ErrorCode.INVALID_PATCH,
            message: `cannot move "${operation.from}" into its own child "${operation.path}"`,
          });
        }
        if (operation.path === operation.from) {
          this.existing(operation.from, false);
          return;
        }
        const value = this.valueAt(operation.from);
        this.remove(operation.from);
        this.add(operation.path, value);
        return;
      }
      case 'copy':
        this.add(operation.path, this.valueAt(operation.from));
        return;
      case 'test': {
        const actual = this.valueAt(operation.path);
        if (!jsonEqual(actual, operation.value)) {
          throw new YStateError({
            code: ErrorCode.PATCH_TEST_FAILED,
            message: `test at "${operation.path}" failed: expected ${JSON.stringify(operation.value)}, found ${JSON.stringify(actual)}`,
          });
        }
        return;
      }
    }
  }

  /** Writes `value` at `pointer`: sets an object member (adding it) or replaces an array element. */
  set(pointer: string, value: Writable): void {
    assertWritableAt(pointer, value);
    value = this.adopt(cloneWritable(value));
    if (pointer === '') {
      this.replaceRoot(value);
      return;
    }
    const at = this.locate(pointer);
    if (at.parent.isArray) {
      const index = parseIndex(at.key, at.parent.size(), false, pointer);
      at.parent.set(String(index), value);
    } else {
      at.parent.set(at.key, value);
    }
  }

  /** RFC 6902 `add`: sets an object member, or inserts into an array at an index or `-`. */
  add(pointer: string, value: Writable): void {
    assertWritableAt(pointer, value);
    this.adopt(value);
    if (pointer === '') {
      this.replaceRoot(value);
      return;
    }
    const at = this.locate(pointer);
    if (at.parent.isArray) at.parent.insert(parseIndex(at.key, at.parent.size(), true, pointer), value);
    else at.parent.set(at.key, value);
  }

  /** Inserts into the array that holds `pointer`'s last segment (an index or `-`). */
  insert(pointer: string, value: Writable): void {
    assertWritableAt(pointer, value);
    value = this.adopt(cloneWritable(value));
    const at = this.locate(pointer);
    if (!at.parent.isArray) {
      throw mismatch(`"${parentPointer(pointer)}" is not an array, cannot insert at "${pointer}"`);
    }
    at.parent.insert(parseIndex(at.key, at.parent.size(), true, pointer), value);
  }

  /** Appends values to the array at `pointer`. */
  push(pointer: string, values: readonly Writable[]): void {
    assertWritableAt(pointer, values);
    const node = this.containerAt(pointer);
    if (!node.isArray) throw mismatch(`"${pointer}" is not an array, cannot push`);
    for (const value of values) node.insert(node.size(), this.adopt(cloneWritable(value)));
  }

  /** RFC 6902 `remove`: the value at `pointer` must exist. */
  remove(pointer: string): void {
    if (pointer === '') throw mismatch('the document root cannot be removed');
    const at = this.existing(pointer);
    at.parent.delete(at.key);
  }

  /** RFC 6902 `replace`: the value at `pointer` must exist. */
  replace(pointer: string, value: Writable): void {
    assertWritableAt(pointer, value);
    this.adopt(value);
    if (pointer === '') {
      this.replaceRoot(value);
      return;
    }
    const at = this.existing(pointer);
    at.parent.set(at.key, value);
  }

  /** Deep-merges `value` into the object at `pointer`: nested objects merge, anything else is set. */
  merge(pointer: string, value: Writable): void {
    assertWritableAt(pointer, value);
    if (!isPlainObject(value)) throw mismatch(`merge at "${pointer}" needs an object`);
    const node = this.containerAt(pointer);
    if (node.isArray) throw mismatch(`"${pointer}" is an array, cannot merge an object into it`);
    this.mergeInto(node, value as Record<string, Writable>);
  }

  /** Splices the collaborative text at `pointer` (a `Y.Text`): deletes `deleteCount` units at `index`, inserts `text`. */
  spliceText(pointer: string, index: number, deleteCount: number, text: string): void {
    const at = this.existing(pointer);
    const slot = at.parent.get(at.key);
    const target = textTarget(slot);
    if (target === undefined) throw mismatch(`"${pointer}" is not collaborative text`);
    if (hasLoneSurrogate(text)) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `at "${pointer}": the text has a lone UTF-16 surrogate`,
      });
    }
    const length = slot instanceof TextDraft ? slot.value.length : target.length;
    if (!Number.isInteger(index) || !Number.isInteger(deleteCount) || index < 0 || deleteCount < 0) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: 'text positions must be whole numbers >= 0',
      });
    }
    if (index + deleteCount > length) {
      throw notFound(`text range ${index}+${deleteCount} is past the end of "${pointer}" (length ${length})`);
    }
    this.log.push(spliceOf(target, index, deleteCount, text));
    const spliced = new TextDraft(target, () => {
      const current = textOf(slot);
      return current.slice(0, index) + text + current.slice(index + deleteCount);
    });
    at.parent.replaceDraft(at.key, spliced);
  }

  /** True when the edit has changed anything. */
  get changed(): boolean {
    return this.log.length > 0;
  }

  /** Applies the recorded mutations to the Y types in one transaction with `origin`. */
  commit(origin: unknown): void {
    if (this.log.length === 0) return;
    const doc = this.root.doc;
    if (doc === null) throw new Error('unreachable: the root map belongs to no document');
    doc.transact(() => {
      for (const m of this.log) {
        switch (m.kind) {
          case 'set':
            m.target.set(m.key, toYValue(m.value as Writable));
            break;
          case 'delete':
            m.target.delete(m.key);
            break;
          case 'insert':
            m.target.insert(m.index, [toYValue(m.value as Writable)]);
            break;
          case 'remove':
            m.target.delete(m.index, 1);
            break;
          case 'splice':
            if (m.deleteCount > 0) m.target.delete(m.index, m.deleteCount);
            if (m.text.length > 0) m.target.insert(m.index, m.text);
            break;
        }
      }
    }, origin);
  }

  private mergeInto(node: Node, value: Record<string, Writable>): void {
    for (const [key, item] of Object.entries(value)) {
      const current = node.has(key) ? this.writableNodeOf(node, key) : undefined;
      if (current !== undefined && !current.isArray && isPlainObject(item)) {
        this.mergeInto(current, item as Record<string, Writable>);
      } else {
        node.set(key, this.adopt(cloneWritable(item)));
      }
    }
  }

  private replaceRoot(value: Writable): void {
    if (!isPlainObject(value)) throw mismatch('the document root must be an object');
    for (const key of this.rootNode.keys()) this.rootNode.delete(key);
    for (const [key, item] of Object.entries(value)) this.rootNode.set(key, item);
  }

  /** The container at `pointer`, which must exist. */
  private containerAt(pointer: string): Node {
    if (pointer === '') return this.rootNode;
    const at = this.existing(pointer);
    const node = this.writableNodeOf(at.parent, at.key);
    if (node === undefined) throw mismatch(`"${pointer}" is not an object or array`);
    return node;
  }

  /** The location of an existing value (`write`: see `locate`). */
  private existing(pointer: string, write = true): Location {
    const at = this.locate(pointer, write);
    if (at.parent.isArray) {
      at.key = String(parseIndex(at.key, at.parent.size(), false, pointer));
    } else if (!at.parent.has(at.key)) {
      throw notFound(`nothing at "${pointer}"`);
    }
    return at;
  }

  private valueAt(pointer: string): Json {
    if (pointer === '') return this.json(this.root);
    const at = this.existing(pointer, false);
    return this.json(at.parent.get(at.key));
  }

  /**
   * Resolves every segment but the last to a container; the last is returned as the key. With
   * `write`, the containers on the way are made writable (see `writableNodeOf`).
   */
  private locate(pointer: string, write = true): Location {
    const segments = parsePointer(pointer);
    if (segments.length === 0) throw new Error('unreachable: locate("") is handled by callers');
    let node = this.rootNode;
    for (let i = 0; i < segments.length - 1; i++) {
      const slot = childSlot(node, segments[i] as string);
      if (slot === undefined) throw notFound(`nothing at "${formatPointer(segments.slice(0, i + 1))}"`);
      const next = write ? this.writableNodeOf(node, segments[i] as string) : this.nodeOf(slot);
      if (next === undefined) {
        throw mismatch(`"${formatPointer(segments.slice(0, i + 1))}" is not an object or array`);
      }
      node = next;
    }
    return { parent: node, key: segments[segments.length - 1] as string, pointer };
  }

  private nodeOf(slot: unknown): Node | undefined {
    if (slot instanceof Y.Map || slot instanceof Y.Array) {
      let draft = this.drafts.get(slot);
      if (draft === undefined) {
        draft = slot instanceof Y.Map ? new MapDraft(slot, this.log) : new ArrayDraft(slot, this.log);
        this.drafts.set(slot, draft);
      }
      return draft;
    }
    if (isPlainObject(slot) || Array.isArray(slot)) return new PlainNode(slot);
    return undefined;
  }

  /** The JSON view of a slot as the draft sees it (a fresh copy the caller may keep). */
  private json(slot: unknown): Json {
    if (slot instanceof TextDraft) return slot.value;
    if (slot instanceof CollaborativeText) return slot.text;
    // What this edit has not touched converts as the document shows it (one converter).
    const node =
      (slot instanceof Y.Map || slot instanceof Y.Array) && this.drafts.has(slot)
        ? this.drafts.get(slot)
        : (isPlainObject(slot) || Array.isArray(slot)) && this.owned.has(slot)
          ? this.nodeOf(slot)
          : undefined;
    if (node === undefined) return toJsonValue(slot);
    if (node.isArray) return node.keys().map((key) => this.json(node.get(key)));
    return Object.fromEntries(node.keys().map((key) => [key, this.json(node.get(key))]));
  }

  /**
   * The container in `parent` at `key`, ready to be written. A plain object or array that a Y
   * container holds as a value (as Yjs clients store `map.set('k', { … })`) is not mutated in
   * place, which would change the document without a Yjs update: it is replaced by this edit's
   * copy, so the commit writes it.
   */
  private writableNodeOf(parent: Node, key: string): Node | undefined {
    const slot = childSlot(parent, key);
    if ((isPlainObject(slot) || Array.isArray(slot)) && !this.owned.has(slot)) {
      const copy = this.adopt(toJsonValue(slot));
      parent.set(key, copy);
      return this.nodeOf(copy);
    }
    return this.nodeOf(slot);
  }

  /** Marks a value (and every object and array in it) as this edit's own; returns it. */
  private adopt<T>(value: T): T {
    if (value instanceof CollaborativeText || typeof value !== 'object' || value === null) return value;
    this.owned.add(value);
    for (const item of Object.values(value)) this.adopt(item);
    return value;
  }
}

function childSlot(node: Node, segment: string): unknown {
  if (node.isArray) {
    if (!/^(0|[1-9][0-9]*)$/.test(segment)) return undefined;
    const index = Number(segment);
    return index < node.size() ? node.get(index) : undefined;
  }
  return node.has(segment) ? node.get(segment) : undefined;
}

function textOf(slot: unknown): string {
  return slot instanceof TextDraft ? slot.value : String(slot);
}

/**
 * Records the edit that turns a text's `current` content into `next` by replacing only the
 * differing middle, so concurrent edits elsewhere in the text survive the merge.
 */
function rewriteText(target: Y.Text, current: string, next: string, log: Mutation[]): TextDraft {
  const max = Math.min(current.length, next.length);
  let start = 0;
  while (start < max && current.charCodeAt(start) === next.charCodeAt(start)) start++;
  let end = 0;
  while (
    end < max - start &&
    current.charCodeAt(current.length - 1 - end) === next.charCodeAt(next.length - 1 - end)
  ) {
    end++;
  }
  // Never split a surrogate pair: widen the replaced middle to whole code points.
  if (start > 0 && isHighSurrogate(current.charCodeAt(start - 1))) start--;
  if (end > 0 && isLowSurrogate(current.charCodeAt(current.length - end))) end--;
  log.push(spliceOf(target, start, current.length - start - end, next.slice(start, next.length - end)));
  return new TextDraft(target, () => next);
}

function spliceOf(target: Y.Text, index: number, deleteCount: number, text: string): Mutation {
  return { kind: 'splice', target, index, deleteCount, text };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Checks a write of `value` at `pointer`: every segment must be a key a document may hold (no
 * `__proto__`, no `constructor`/`prototype` pair, no lone surrogate; see `keyFault`) and the value
 * must pass `assertWritable` there (which also bounds the depth). Removing such a key stays allowed.
 */
function assertWritableAt(pointer: string, value: unknown): void {
  const segments = parsePointer(pointer);
  for (let i = 0; i < segments.length; i++) {
    const fault = keyFault(segments[i] as string, i > 0 ? (segments[i - 1] as string) : null);
    if (fault !== undefined) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `at "${formatPointer(segments.slice(0, i + 1))}": ${fault}`,
      });
    }
  }
  assertWritable(value, pointer);
}

function parentPointer(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

function notFound(message: string): YStateError {
  return new YStateError({ code: ErrorCode.PATH_NOT_FOUND, message });
}

function mismatch(message: string): YStateError {
  return new YStateError({ code: ErrorCode.TYPE_MISMATCH, message });
}
