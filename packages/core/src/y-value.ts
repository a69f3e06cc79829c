/** Conversion between JSON values and the Yjs types that hold them in a document. */

import * as Y from 'yjs';
import { assertJson, isPlainObject, type Json } from './json.js';

/** A value as it sits in a Y container: a primitive or a nested Y type. */
export type YValue = Y.Map<unknown> | Y.Array<unknown> | Y.Text | string | number | boolean | null;

/** Marks a string that should be stored as collaborative `Y.Text` rather than a primitive. */
export class CollaborativeText {
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
    const copy: { [key: string]: Writable } = {};
    for (const [key, item] of Object.entries(value)) copy[key] = cloneWritable(item as Writable);
    return copy;
  }
  return value;
}

/** Validates a writable value (JSON plus text markers), throwing INVALID_VALUE otherwise. */
export function assertWritable(value: unknown, where = ''): asserts value is Writable {
  if (value instanceof CollaborativeText) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      assertWritable(item, `${where}/${i}`);
    });
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) assertWritable(item, `${where}/${key}`);
    return;
  }
  assertJson(value, where);
}

/** Reads the JSON view of whatever a Y container holds at one slot. */
export function toJsonValue(value: unknown): Json {
  if (value instanceof Y.AbstractType) return value.toJSON() as Json;
  return value as Json;
}

/** True for the Y types that make up the JSON view's containers. */
export function isContainer(value: unknown): value is Y.Map<unknown> | Y.Array<unknown> {
  return value instanceof Y.Map || value instanceof Y.Array;
}
