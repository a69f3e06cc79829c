/**
 * An all-or-nothing edit of a document's JSON view. Operations run against a copy-on-write draft
 * of the containers they touch, so a failing operation leaves the document untouched; `commit`
 * then replays the recorded primitive mutations on the Y types in one transaction. The path API
 * and JSON Patch application both go through here, so they share one set of semantics.
 */

import * as Y from 'yjs';
import { hasContent, ROOT_MAP, ROOTS_KEY, shownRoots, typedRoot, type YType } from './document-roots.js';
import { ErrorCode, YStateError } from './errors.js';
import {
  cloneJson,
  escapeSegment,
  hasLoneSurrogate,
  isPlainObject,
  type Json,
  type JsonObject,
  jsonEqual,
  keyFault,
} from './json.js';
import type { PatchOperation } from './json-patch.js';
import { formatPointer, parseIndex, parsePointer } from './pointer.js';
import { spliceBetween } from './text-splice.js';
import { assertFragmentJson, writeFragment } from './xml-write.js';
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
  | { kind: 'splice'; target: Y.Text; index: number; deleteCount: number; text: string }
  | { kind: 'fillRoot'; name: string; value: unknown }
  | { kind: 'clearRoot'; name: string }
  | { kind: 'xml'; target: Y.XmlFragment; json: JsonObject; where: string };

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
  if (value instanceof Y.Text && !(value instanceof Y.XmlText)) return value;
  if (value instanceof TextDraft) return value.target;
  return undefined;
}

/** The slot of the document's `$roots` member: the other root types, seen through a `RootsNode`. */
const ROOTS_SLOT = Object.freeze({ roots: true });

/** What a `RootsNode` needs from its edit: the document, the log, and XML drafts. */
interface RootsHost {
  readonly ydoc: Y.Doc;
  readonly log: Mutation[];
  /** Makes the draft of an XML root hold `value` (checked at commit). */
  replaceXml(fragment: Y.XmlFragment, value: JsonObject, where: string): void;
}

/**
 * The document's root types other than `state`, by name, as the `$roots` member shows them. A
 * root keeps its kind (Yjs fixes a root's type by its name): a map takes an object, an array an
 * array, a text a string (spliced where it differs), an XML fragment its node tree. A new root
 * takes its kind from the value. An empty root is not shown, so writing an empty value is refused.
 */
class RootsNode implements Node {
  readonly isArray = false;
  private readonly overrides = new Map<string, unknown>();

  constructor(private readonly host: RootsHost) {}

  size(): number {
    return this.keys().length;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  get(key: string | number): unknown {
    const name = String(key);
    if (this.overrides.has(name)) {
      const value = this.overrides.get(name);
      return value === DELETED ? undefined : value;
    }
    if (name === ROOT_MAP) return undefined;
    const root = typedRoot(this.host.ydoc, name);
    return root !== undefined && hasContent(root) ? root : undefined;
  }
  keys(): string[] {
    const keys = new Set(shownRoots(this.host.ydoc).map(([name]) => name));
    for (const [key, value] of this.overrides) {
      if (value === DELETED) keys.delete(key);
      else keys.add(key);
    }
    return [...keys];
  }
  set(key: string, value: unknown): void {
    const where = `/${ROOTS_KEY}/${escapeSegment(key)}`;
    if (key === ROOT_MAP) {
      throw mismatch(`"${where}": the root map "${ROOT_MAP}" is the top level of the document's JSON`);
    }
    if (
      value === '' ||
      (isPlainObject(value) && Object.keys(value).length === 0) ||
      (Array.isArray(value) && value.length === 0)
    ) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `at "${where}": an empty root is not shown; remove it instead`,
      });
    }
    const root = this.host.ydoc.share.has(key) ? typedRoot(this.host.ydoc, key) : undefined;
    if (root instanceof Y.XmlFragment) {
      if (!isPlainObject(value)) throw mismatch(`"${where}" is an XML fragment: write its node tree`);
      this.host.replaceXml(root, value as JsonObject, where);
      this.overrides.set(key, root);
      return;
    }
    const text = textTarget(root);
    if (text !== undefined) {
      if (typeof value !== 'string') throw mismatch(`"${where}" is a Y.Text: write a string`);
      const current = this.get(key);
      this.overrides.set(
        key,
        rewriteText(text, current === undefined ? '' : textOf(current), value, this.host.log),
      );
      return;
    }
    const fits =
      root instanceof Y.Map
        ? isPlainObject(value)
        : root instanceof Y.Array
          ? Array.isArray(value)
          : typeof value === 'string' || isPlainObject(value) || Array.isArray(value);
    if (!fits) {
      const kind =
        root instanceof Y.Map
          ? 'an object'
          : root instanceof Y.Array
            ? 'an array'
            : 'an object, an array or a string';
      throw mismatch(`"${where}" is a root type: it holds ${kind}`);
    }
    this.host.log.push({ kind: 'fillRoot', name: key, value });
    this.overrides.set(key, value);
  }
  delete(key: string): void {
    this.host.log.push({ kind: 'clearRoot', name: key });
    this.overrides.set(key, DELETED);
  }
  replaceDraft(key: string | number, slot: unknown): void {
    this.overrides.set(String(key), slot);
  }
  insert(): void {
    throw new Error('unreachable: insert into the roots');
  }
  remove(): void {
    throw new Error('unreachable: remove from the roots');
  }
}

/** The document's top level: the entries of `state`, and `$roots` while other roots have content. */
class DocumentNode implements Node {
  readonly isArray = false;

  constructor(
    private readonly state: Node,
    readonly roots: RootsNode,
  ) {}

  size(): number {
    return this.keys().length;
  }
  has(key: string): boolean {
    return key === ROOTS_KEY ? this.roots.size() > 0 : this.state.has(key);
  }
  get(key: string | number): unknown {
    if (key === ROOTS_KEY) return this.roots.size() > 0 ? ROOTS_SLOT : undefined;
    return this.state.get(key);
  }
  keys(): string[] {
    const keys = this.state.keys().filter((key) => key !== ROOTS_KEY);
    if (this.roots.size() > 0) keys.push(ROOTS_KEY);
    return keys;
  }
  set(key: string, value: unknown): void {
    if (key !== ROOTS_KEY) {
      this.state.set(key, value);
      return;
    }
    if (!isPlainObject(value))
      throw mismatch(`"/${ROOTS_KEY}" holds the root types by name: write an object`);
    for (const name of this.roots.keys()) if (!Object.hasOwn(value, name)) this.roots.delete(name);
    for (const [name, item] of Object.entries(value)) this.roots.set(name, item);
  }
  delete(key: string): void {
    if (key !== ROOTS_KEY) this.state.delete(key);
    else for (const name of this.roots.keys()) this.roots.delete(name);
  }
  replaceDraft(key: string | number, slot: unknown): void {
    if (key !== ROOTS_KEY) this.state.replaceDraft(key, slot);
  }
  insert(): void {
    throw new Error('unreachable: insert into the document');
  }
  remove(): void {
    throw new Error('unreachable: remove from the document');
  }
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
  /** XML fragments being edited: the JSON form this edit writes into each at commit. */
  private readonly xmlDrafts = new Map<Y.XmlFragment, JsonObject>();
  private readonly rootNode: DocumentNode;
  private readonly ydoc: Y.Doc;

  constructor(root: Y.Map<unknown>) {
    if (root.doc === null) throw new Error('unreachable: the root map belongs to no document');
    this.ydoc = root.doc;
    const log = this.log;
    const roots = new RootsNode({
      ydoc: this.ydoc,
      log,
      replaceXml: (fragment, value, where) => {
        this.adopt(value);
        this.xmlDrafts.set(fragment, value);
        log.push({ kind: 'xml', target: fragment, json: value, where });
      },
    });
    this.rootNode = new DocumentNode(this.nodeOf(root) as Node, roots);
  }

  /** The JSON at `pointer` as this edit currently sees it, or `undefined` when nothing is there. */
  read(pointer: string): Json | undefined {
    const segments = parsePointer(pointer);
    let node: Node = this.rootNode;
    for (let i = 0; i < segments.length; i++) {
      const slot = childSlot(node, segments[i] as string);
      if (slot === MISSING) return undefined;
      if (i === segments.length - 1) return this.json(slot);
      const next = this.nodeOf(slot);
      if (next === undefined) return undefined;
      node = next;
    }
    return this.nodeJson(this.rootNode);
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
    this.mergeInto(node, value as Record<string, Writable>, pointer);
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
    // Node trees are checked whole before anything is written, so a bad one changes nothing.
    for (const m of this.log) if (m.kind === 'xml') assertFragmentJson(m.json, m.where);
    this.ydoc.transact(() => {
      for (const m of this.log) {
        switch (m.kind) {
          case 'fillRoot':
            fillRoot(this.ydoc, m.name, m.value);
            break;
          case 'clearRoot':
            clearRoot(this.ydoc, m.name);
            break;
          case 'xml':
            writeFragment(m.target, m.json);
            break;
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

  private mergeInto(node: Node, value: Record<string, Writable>, pointer: string): void {
    for (const [key, item] of Object.entries(value)) {
      const at = `${pointer}/${escapeSegment(key)}`;
      const current = node.has(key) ? this.writableNodeOf(node, key, at) : undefined;
      if (current !== undefined && !current.isArray && isPlainObject(item)) {
        this.mergeInto(current, item as Record<string, Writable>, at);
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
    const node = this.writableNodeOf(at.parent, at.key, pointer);
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
    if (pointer === '') return this.nodeJson(this.rootNode);
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
    let node: Node = this.rootNode;
    for (let i = 0; i < segments.length - 1; i++) {
      const slot = childSlot(node, segments[i] as string);
      if (slot === MISSING) throw notFound(`nothing at "${formatPointer(segments.slice(0, i + 1))}"`);
      const next = write
        ? this.writableNodeOf(node, segments[i] as string, formatPointer(segments.slice(0, i + 1)))
        : this.nodeOf(slot);
      if (next === undefined) {
        throw mismatch(`"${formatPointer(segments.slice(0, i + 1))}" is not an object or array`);
      }
      node = next;
    }
    return { parent: node, key: segments[segments.length - 1] as string, pointer };
  }

  private nodeOf(slot: unknown): Node | undefined {
    if (slot === ROOTS_SLOT) return this.rootNode.roots;
    if (slot instanceof Y.XmlFragment && !(slot instanceof Y.XmlElement))
      return this.nodeOf(this.xmlDraftOf(slot));
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
    if (slot === ROOTS_SLOT) return this.nodeJson(this.rootNode.roots);
    if (slot instanceof Y.XmlFragment && this.xmlDrafts.has(slot)) return this.json(this.xmlDrafts.get(slot));
    // What this edit has not touched converts as the document shows it (one converter).
    const node =
      (slot instanceof Y.Map || slot instanceof Y.Array) && this.drafts.has(slot)
        ? this.drafts.get(slot)
        : (isPlainObject(slot) || Array.isArray(slot)) && this.owned.has(slot)
          ? this.nodeOf(slot)
          : undefined;
    if (node === undefined) return toJsonValue(slot);
    return this.nodeJson(node);
  }

  private nodeJson(node: Node): Json {
    if (node.isArray) return node.keys().map((key) => this.json(node.get(key)));
    return Object.fromEntries(node.keys().map((key) => [key, this.json(node.get(key))]));
  }

  /**
   * The JSON this edit writes into an XML fragment: a copy of its form, owned (so operations edit
   * it in place), written into the fragment at commit by changing only what differs.
   */
  private xmlDraftOf(fragment: Y.XmlFragment): JsonObject {
    let draft = this.xmlDrafts.get(fragment);
    if (draft === undefined) {
      draft = this.adopt(toJsonValue(fragment) as JsonObject);
      this.xmlDrafts.set(fragment, draft);
      const name = rootNameOf(this.ydoc, fragment);
      const where = name === undefined ? '(an XML fragment)' : `/${ROOTS_KEY}/${escapeSegment(name)}`;
      this.log.push({ kind: 'xml', target: fragment, json: draft, where });
    }
    return draft;
  }

  /**
   * The container in `parent` at `key`, ready to be written. A plain object or array that a Y
   * container holds as a value (as Yjs clients store `map.set('k', { … })`) is not mutated in
   * place, which would change the document without a Yjs update: it is replaced by this edit's
   * copy, so the commit writes it.
   */
  private writableNodeOf(parent: Node, key: string, pointer: string): Node | undefined {
    const slot = childSlot(parent, key);
    if (
      typeof slot === 'object' &&
      slot !== null &&
      slot !== ROOTS_SLOT &&
      !(slot instanceof Y.AbstractType) &&
      !(slot instanceof TextDraft) &&
      !(slot instanceof CollaborativeText) &&
      !this.owned.has(slot)
    ) {
      // (Also a legacy object whose prototype a decoded `__proto__` key replaced: its JSON form.)
      const copy = toJsonValue(slot);
      if (typeof copy === 'object' && copy !== null) {
        // What the copy writes back must be fit for a document today (a legacy `__proto__` key
        // is not): refuse the write; the value can still be replaced or removed whole.
        assertWritable(copy, pointer);
        parent.set(key, this.adopt(copy));
        return this.nodeOf(copy);
      }
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

/** Makes the root `name` hold `value` (a root's kind is fixed once it exists; a new one takes the value's). */
function fillRoot(ydoc: Y.Doc, name: string, value: unknown): void {
  const existing = ydoc.share.has(name) ? typedRoot(ydoc, name) : undefined;
  if (existing !== undefined) clearRoot(ydoc, name);
  if (typeof value === 'string') {
    (existing instanceof Y.Text ? existing : ydoc.getText(name)).insert(0, value);
  } else if (Array.isArray(value)) {
    const array: Y.Array<unknown> = existing instanceof Y.Array ? existing : ydoc.getArray(name);
    array.insert(
      0,
      value.map((item) => toYValue(item as Writable)),
    );
  } else {
    const map: Y.Map<unknown> = existing instanceof Y.Map ? existing : ydoc.getMap(name);
    for (const [key, item] of Object.entries(value as Record<string, unknown>))
      map.set(key, toYValue(item as Writable));
  }
}

/** Removes the content of the root `name` (an empty root is not shown). */
function clearRoot(ydoc: Y.Doc, name: string): void {
  const root = typedRoot(ydoc, name);
  if (root instanceof Y.Map) for (const key of [...root.keys()]) root.delete(key);
  else if (root instanceof Y.Array || root instanceof Y.Text || root instanceof Y.XmlFragment) {
    if (root.length > 0) root.delete(0, root.length);
  }
}

function rootNameOf(ydoc: Y.Doc, type: YType): string | undefined {
  for (const [name, root] of ydoc.share) if (root === type) return name;
  return undefined;
}

/** Marks a slot that does not exist (a legacy value may be `undefined`, which reads as null). */
const MISSING = Symbol('missing');

function childSlot(node: Node, segment: string): unknown {
  if (node.isArray) {
    if (!/^(0|[1-9][0-9]*)$/.test(segment)) return MISSING;
    const index = Number(segment);
    return index < node.size() ? node.get(index) : MISSING;
  }
  return node.has(segment) ? node.get(segment) : MISSING;
}

/** The string of a text slot; a `Y.Text` holding embeds is refused (its positions are not its string's). */
function textOf(slot: unknown): string {
  if (slot instanceof TextDraft) return slot.value;
  const text = String(slot);
  if (slot instanceof Y.Text && slot.length !== text.length) {
    throw mismatch('this Y.Text holds embeds, which its JSON string does not show: edit it in its editor');
  }
  return text;
}

/**
 * Records the edit that turns a text's `current` content into `next` by replacing only the
 * differing middle, so concurrent edits elsewhere in the text survive the merge.
 */
function rewriteText(target: Y.Text, current: string, next: string, log: Mutation[]): TextDraft {
  const { index, deleteCount, text } = spliceBetween(current, next);
  log.push(spliceOf(target, index, deleteCount, text));
  return new TextDraft(target, () => next);
}

function spliceOf(target: Y.Text, index: number, deleteCount: number, text: string): Mutation {
  return { kind: 'splice', target, index, deleteCount, text };
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
