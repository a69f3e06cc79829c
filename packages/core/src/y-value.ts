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
 * a prototype as an own `__proto__` member, and a Y.Text as its text (XML types as their XML string).
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
  // lib0's decoder assigns `obj[key] = …`, so a `__proto__` key with an object (or null) value
  // became the object's prototype: show it as the member it was sent as.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype) entries.push(['__proto__', jsonOf(proto, depth + 1)]);
  return Object.fromEntries(entries) as JsonObject;
}

function typeJson(type: Y.AbstractType<unknown>, depth: number): Json {
  if (type instanceof Y.Map) {
    const entries: [string, Json][] = [];
    type.forEach((item, key) => {
      entries.push([key, jsonOf(item, depth + 1)]);
    });
    return Object.fromEntries(entries) as JsonObject;
  }
  if (type instanceof Y.Array) return type.toArray().map((item) => jsonOf(item, depth + 1));
  // Y.Text is its plain text (formatting is not shown); XML types are their XML string, as Yjs's
  // own toJSON gives them (issue 14 gives every root type a structured JSON form).
  if (type instanceof Y.Text || type instanceof Y.XmlFragment) return type.toString();
  return null;
}

/** True for the Y types that make up the JSON view's containers. */
export function isContainer(value: unknown): value is Y.Map<unknown> | Y.Array<unknown> {
  return value instanceof Y.Map || value instanceof Y.Array;
}
