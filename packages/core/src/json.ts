/** JSON values as the document's JSON view holds them. */

/** A JSON string, number, boolean or null. */
export type JsonPrimitive = string | number | boolean | null;
/** A JSON object. */
export type JsonObject = { [key: string]: Json };
/** A JSON array. */
export type JsonArray = Json[];
/** Any JSON value: what a document's state and its paths hold. */
export type Json = JsonPrimitive | JsonObject | JsonArray;

import { ErrorCode, YStateError } from './errors.js';

/** True for a plain object (not an array, not null, not a class instance such as a Y type). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Structural equality of two JSON values (key order of objects does not matter). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i] as Json));
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key] as Json, b[key] as Json));
}

/** A deep copy of a JSON value. */
export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

/**
 * How deep a document's JSON may nest: no JSON Pointer to a value has more than this many
 * segments (`/a/b` has two). Writes and updates that would go deeper are refused with
 * INVALID_VALUE, so every conversion of a document stays far from the call-stack limit.
 */
export const MAX_DEPTH = 64;

/** True when `text` holds a UTF-16 surrogate without its partner (UTF-8, and so the log, cannot hold it). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/**
 * Why `key` cannot be an object member beside (or under) `parentKey`, or `undefined` when it can.
 * `__proto__` is refused (plain JavaScript objects turn it into a prototype, and fast-json-patch,
 * which `@ag-ui/client` uses, refuses paths through it), as is `prototype` directly under
 * `constructor` (the other path fast-json-patch refuses); `constructor` and `prototype` alone are
 * ordinary keys.
 */
export function keyFault(key: string, parentKey: string | null): string | undefined {
  if (key === '__proto__') return 'the key "__proto__" is not allowed';
  if (key === 'prototype' && parentKey === 'constructor') {
    return 'the key "prototype" is not allowed directly under "constructor"';
  }
  if (hasLoneSurrogate(key)) return 'the key has a lone UTF-16 surrogate';
  return undefined;
}

/** Where a value sits: its pointer (for messages), its depth (pointer segments) and the key that holds it. */
export interface JsonPlace {
  readonly where: string;
  readonly depth: number;
  readonly key: string | null;
}

/** The place of a value written at `pointer` (an RFC 6901 pointer, already checked for syntax by the caller). */
export function placeOf(pointer: string): JsonPlace {
  if (pointer === '') return { where: '', depth: 0, key: null };
  const segments = pointer.split('/');
  const last = (segments[segments.length - 1] as string).replaceAll('~1', '/').replaceAll('~0', '~');
  return { where: pointer, depth: segments.length - 1, key: last };
}

/**
 * Checks that `value` is JSON that a document can hold: finite numbers, strings and keys without
 * lone surrogates, plain objects without `__proto__` keys, arrays, at most `MAX_DEPTH` deep once
 * written at `where`. Throws INVALID_VALUE naming the offending location otherwise.
 */
export function assertJson(value: unknown, where = ''): asserts value is Json {
  checkJson(value, placeOf(where));
}

/**
 * The one walk behind `assertJson`, the path API's `assertWritable` and the update gate:
 * `leaf` may accept extra values (returning the text they hold, which is checked like a string).
 */
export function checkJson(
  value: unknown,
  place: JsonPlace,
  leaf?: (value: unknown) => string | undefined,
): void {
  const { where, depth } = place;
  if (depth > MAX_DEPTH) throw invalid(where, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (hasLoneSurrogate(value)) throw invalid(where, 'the string has a lone UTF-16 surrogate');
    return;
  }
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw invalid(where, `${value} is not a JSON number`);
  }
  const text = leaf?.(value);
  if (text !== undefined) {
    checkJson(text, place);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      checkJson(value[i], { where: `${where}/${i}`, depth: depth + 1, key: null }, leaf);
    }
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      const at = `${where}/${escapeSegment(key)}`;
      const fault = keyFault(key, place.key);
      if (fault !== undefined) throw invalid(at, fault);
      checkJson(value[key], { where: at, depth: depth + 1, key }, leaf);
    }
    return;
  }
  if (typeof value === 'bigint') throw invalid(where, `${value}n is a bigint, not a JSON number`);
  if (value === undefined) throw invalid(where, 'undefined is not a JSON value');
  if (value instanceof Uint8Array) throw invalid(where, 'binary data is not a JSON value');
  throw invalid(
    where,
    `a ${typeof value === 'object' ? 'non-plain object' : typeof value} is not a JSON value`,
  );
}

function invalid(where: string, message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message: `at "${where}": ${message}` });
}

/** Escapes one pointer segment (RFC 6901). */
export function escapeSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}
