/** Conversion between JSON values and the Yjs types that hold them in a document. */

import { toBase64 } from 'lib0/buffer';
import * as Y from 'yjs';
import { checkJson, isPlainObject, type Json, type JsonObject, placeOf } from './json.js';

/** A value as it sits in a Y container: a primitive or a nested Y type. */
export type YValue = Y.Map<unknown> | Y.Array<unknown> | Y.Text | string | number | boolean | null;

/** Marks a string that should be stored as collaborative `Y.Text` rather than a primitive. */
export class CollaborativeText {
  /** Marks `text` to be stored as collaborative text (`Y.Text`) rather than a plain string. */
  constructor(readonly text: string) {}
}

/** Wraps a string so that writing it creates a `Y.Text` (for editor bindings and character merges). */
export function collaborativeText(text: string): CollaborativeText {
  return new CollaborativeText(text);
}

/** A JSON value that may also hold `CollaborativeText` markers. */
export type Writable = Json | CollaborativeText | { [key: string]: Writable } | Writable[];

/** Builds the Yjs value (prelim types for objects and arrays) that stores `value`. */
export function toYValue(value: Writable): YValue {
  if (value instanceof CollaborativeText) return new Y.Text(value.text);
  if (Array.isArray(value)) {
    const array = new Y.Array<unknown>();
    array.push(value.map(toYValue));
    return array;
  }
  if (isPlainObject(value)) {
    const map = new Y.Map<unknown>();
    for (const [key, item] of Object.entries(value)) map.set(key, toYValue(item as Writable));
    return map;
  }
  return value as YValue;
}

/**
 * A deep copy of a writable value that keeps `CollaborativeText` markers (structuredClone would
 * turn them into plain objects). Edits copy what they are given, so later operations in the same
 * batch never mutate the caller's objects.
 */
export function cloneWritable(value: Writable): Writable {
  if (value instanceof CollaborativeText) return value;
  if (Array.isArray(value)) return value.map(cloneWritable);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, cloneWritable(item as Writable)]),
    );
  }
  return value;
}

/**
 * Validates a writable value (JSON plus text markers) written at the pointer `where`, throwing
 * INVALID_VALUE otherwise: the rules of `assertJson`, and collaborative text is checked as a string.
 */
export function assertWritable(value: unknown, where = ''): asserts value is Writable {
  checkJson(value, placeOf(where), (item) => (item instanceof CollaborativeText ? item.text : undefined));
}

/**
 * How deep `toJsonValue` descends before it shows a value as `null`. New content is limited to
 * `MAX_DEPTH`; this only bounds what a log written before that limit (or a local misuse of Yjs,
 * such as a cyclic object) can make a conversion do, so it never exhausts the call stack.
 */
const LEGACY_DEPTH = 1000;

/**
 * The JSON form of whatever a Y container holds at one slot — the one Y → JSON conversion of
 * ystate (the document's JSON view, patches, reads). Objects are built with own properties, so
 * keys such as `__proto__`, `constructor` and `prototype` read back as ordinary members.
 *
 * Content that has no JSON form can be in documents written before the gate refused it; it is
 * shown by one rule (docs/architecture.md, "What a document may hold"): a bigint as its decimal
 * string, NaN and ±Infinity as null, undefined as null, binary data as a base64 string, a
 * subdocument as null, a Date as its ISO string, a `__proto__` key that Yjs's decoder turned into
 * a prototype as an own `__proto__` member. A Y.Text is its text; XML types are ProseMirror-style
 * nodes (docs/json-form.md).
 */
export function toJsonValue(value: unknown): Json {
  return jsonOf(value, 0);
}

function jsonOf(value: unknown, depth: number): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || depth > LEGACY_DEPTH) return null;
  if (value instanceof Y.AbstractType) return typeJson(value, depth);
  if (Array.isArray(value)) return value.map((item) => jsonOf(item, depth + 1));
  if (value instanceof Uint8Array) return toBase64(value);
  if (value instanceof Y.Doc) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  const entries: [string, Json][] = Object.keys(value).map((key) => [
    key,
    jsonOf((value as Record<string, unknown>)[key], depth + 1),
  ]);
  // lib0's decoder assigns `obj[key] = …`, so a `__proto__` key with an object value became the
  // object's prototype: show it as the member it was sent as. (A null prototype is an ordinary
  // object: ProseMirror's mark and node attrs, which y-prosemirror stores as they are, have one.)
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) entries.push(['__proto__', jsonOf(proto, depth + 1)]);
  return Object.fromEntries(entries) as JsonObject;
}

function typeJson(type: Y.AbstractType<unknown>, depth: number): Json {
  // Subclasses first: XmlText is a Text, XmlElement a XmlFragment, XmlHook a Map.
  if (type instanceof Y.XmlText) return textNodesOf(type, depth);
  if (type instanceof Y.XmlElement) return elementJson(type, depth);
  if (type instanceof Y.XmlFragment) return fragmentJson(type, depth);
  if (type instanceof Y.Map) {
    const entries: [string, Json][] = [];
    type.forEach((item, key) => {
      entries.push([key, jsonOf(item, depth + 1)]);
    });
    return Object.fromEntries(entries) as JsonObject;
  }
  if (type instanceof Y.Array) return type.toArray().map((item) => jsonOf(item, depth + 1));
  // A Y.Text is its plain text; its formatting and embeds are read with `textDelta`.
  if (type instanceof Y.Text) return type.toString();
  return null;
}

/**
 * The node type a root `Y.XmlFragment` is shown with. Yjs gives a fragment no name; ProseMirror's
 * and Tiptap's top node (what y-prosemirror binds the fragment to) is `doc`, so the fragment reads
 * exactly as `editor.getJSON()` / `state.doc.toJSON()`.
 */
export const FRAGMENT_TYPE = 'doc';

/** A fragment as a ProseMirror node: `{ type: "doc", content? }`. */
function fragmentJson(fragment: Y.XmlFragment, depth: number): JsonObject {
  const node: JsonObject = { type: FRAGMENT_TYPE };
  const content = xmlContentOf(fragment, depth);
  if (content.length > 0) node.content = content;
  return node;
}

/** An element as a ProseMirror node: `{ type, attrs?, content? }` (members only when not empty). */
function elementJson(element: Y.XmlElement, depth: number): JsonObject {
  const node: JsonObject = { type: element.nodeName };
  const attributes = element.getAttributes() as Record<string, unknown>;
  const keys = Object.keys(attributes);
  if (keys.length > 0) {
    node.attrs = Object.fromEntries(keys.map((key) => [key, jsonOf(attributes[key], depth + 2)]));
  }
  const content = xmlContentOf(element, depth);
  if (content.length > 0) node.content = content;
  return node;
}

/** The JSON nodes of an XML parent's children: an element is one node, a Y.XmlText one node per run. */
export function xmlContentOf(parent: Y.XmlFragment, depth = 0): Json[] {
  const nodes: Json[] = [];
  for (const child of parent.toArray()) {
    if (child instanceof Y.XmlText) nodes.push(...textNodesOf(child, depth + 1));
    else nodes.push(jsonOf(child, depth + 2));
  }
  return nodes;
}

/** How many JSON nodes a child of an XML parent shows as (see `xmlContentOf`). */
export function xmlNodeCount(child: unknown): number {
  return child instanceof Y.XmlText ? child.toDelta().length : 1;
}

/**
 * The runs of a Y.XmlText as ProseMirror text nodes `{ type: "text", text, marks? }`: y-prosemirror
 * stores each mark as a format whose key is the mark type (`type--hash` when marks of one type
 * overlap) and whose value is the mark's attrs. An embedded type or value is shown as its JSON.
 */
function textNodesOf(text: Y.XmlText, depth: number): Json[] {
  const delta = text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[];
  return delta.map((op) => {
    if (typeof op.insert !== 'string') return jsonOf(op.insert, depth + 1);
    const node: JsonObject = { type: 'text', text: op.insert };
    const marks = marksOf(op.attributes, depth + 2);
    if (marks.length > 0) node.marks = marks;
    return node;
  });
}

/** A format key of y-prosemirror with its overlap suffix (`comment--Xy3+/a0=`). */
const MARK_SUFFIX = /--[A-Za-z0-9+/=]{8}$/;

/** The mark type a format key stands for. */
export function markTypeOf(formatKey: string): string {
  return formatKey.replace(MARK_SUFFIX, '');
}

/** Formats as ProseMirror marks `{ type, attrs? }`, sorted by type (then attrs), so the form is canonical. */
export function marksOf(attributes: Record<string, unknown> | undefined, depth = 0): JsonObject[] {
  if (attributes === undefined) return [];
  const marks = Object.keys(attributes).map((key) => {
    const mark: JsonObject = { type: markTypeOf(key) };
    const value = jsonOf(attributes[key], depth + 1);
    if (!(isPlainObject(value) && Object.keys(value).length === 0)) mark.attrs = value;
    return mark;
  });
  return marks.sort(compareMarks);
}

/** Orders marks by type, then by their attrs' JSON. */
export function compareMarks(a: JsonObject, b: JsonObject): number {
  const byType = String(a.type).localeCompare(String(b.type));
  if (byType !== 0) return byType;
  return JSON.stringify(a.attrs ?? null).localeCompare(JSON.stringify(b.attrs ?? null));
}

/** A Y.Text's formatting and embeds: its Quill-style delta (`{ insert, attributes? }[]`) as JSON. */
export function textDelta(text: Y.Text): Json[] {
  return (text.toDelta() as unknown[]).map((op) => jsonOf(op, 0));
}

/** True for the Y types that make up the JSON view's containers. */
export function isContainer(value: unknown): value is Y.Map<unknown> | Y.Array<unknown> {
  return value instanceof Y.Map || value instanceof Y.Array;
}
