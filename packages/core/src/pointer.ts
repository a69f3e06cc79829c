/** RFC 6901 JSON Pointers: the addresses of values in a document's JSON view. */

import { ErrorCode, YStateError } from './errors.js';

/** A pointer split into its unescaped reference tokens; `[]` is the whole document. */
export type PathSegments = readonly string[];

/** Splits a JSON Pointer into unescaped segments. Throws INVALID_POINTER when it is malformed. */
export function parsePointer(pointer: string): PathSegments {
  if (typeof pointer !== 'string') {
    throw new YStateError({ code: ErrorCode.INVALID_POINTER, message: 'a JSON Pointer must be a string' });
  }
  if (pointer === '') return [];
  if (pointer[0] !== '/') {
    throw new YStateError({
      code: ErrorCode.INVALID_POINTER,
      message: `JSON Pointer "${pointer}" must be empty or start with "/"`,
    });
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) {
        throw new YStateError({
          code: ErrorCode.INVALID_POINTER,
          message: `JSON Pointer "${pointer}" has a "~" not followed by 0 or 1`,
        });
      }
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

/** Joins unescaped segments into a JSON Pointer. */
export function formatPointer(segments: readonly (string | number)[]): string {
  let pointer = '';
  for (const segment of segments)
    pointer += `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`;
  return pointer;
}

/**
 * Reads an array index token: a decimal without leading zeros, or `-` (one past the end) when
 * `allowEnd` is set. Returns the index, or throws naming the pointer.
 */
export function parseIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (token === '-' && allowEnd) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new YStateError({
      code: ErrorCode.INVALID_POINTER,
      message: `"${token}" in "${pointer}" is not an array index`,
    });
  }
  const index = Number(token);
  const max = allowEnd ? length : length - 1;
  if (index > max) {
    throw new YStateError({
      code: ErrorCode.PATH_NOT_FOUND,
      message: `index ${index} in "${pointer}" is out of range (length ${length})`,
    });
  }
  return index;
}
