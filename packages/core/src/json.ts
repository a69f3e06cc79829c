/** JSON values as the document's JSON view holds them. */

export type JsonPrimitive = string | number | boolean | null;
export type JsonObject = { [key: string]: Json };
export type JsonArray = Json[];
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
 * Checks that `value` is JSON that a document can hold: finite numbers, plain objects, arrays.
 * Throws INVALID_VALUE naming the offending location otherwise.
 */
export function assertJson(value: unknown, where = ''): asserts value is Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw invalid(where, `${value} is not a JSON number`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      assertJson(item, `${where}/${i}`);
    });
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) assertJson(item, `${where}/${escapeSegment(key)}`);
    return;
  }
  throw invalid(where, `a ${typeof value} is not a JSON value`);
}

function invalid(where: string, message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message: `at "${where}": ${message}` });
}

function escapeSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}
