/**
 * Path patterns for subscriptions: JSON Pointers whose segments may be `*` (exactly one segment)
 * or `**` (any number of segments, including none).
 */

import { ErrorCode, YStateError } from './errors.js';
import { parsePointer } from './pointer.js';

/** A compiled pattern: tells whether a change at a path concerns what the pattern selects. */
export interface PathPattern {
  readonly source: string;
  /**
   * True when a change at `path` touches a selected location: the path is at or below a match,
   * or above one (replacing `/agents` changes every `/agents/x/status`).
   */
  touches(path: readonly string[]): boolean;
  /** True when `path` itself matches the pattern exactly. */
  matches(path: readonly string[]): boolean;
}

/** Compiles a pattern such as `/agents/*\/status` or `/runs/**`. */
export function compilePattern(pattern: string): PathPattern {
  let segments: readonly string[];
  try {
    segments = parsePointer(pattern);
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_PATTERN,
      message: `invalid path pattern "${pattern}"`,
      cause,
    });
  }
  return {
    source: pattern,
    touches: (path) => overlaps(segments, 0, path, 0, true),
    matches: (path) => overlaps(segments, 0, path, 0, false),
  };
}

/** Matches segment by segment; with `partial`, running out of either side early counts as touching. */
function overlaps(
  pattern: readonly string[],
  i: number,
  path: readonly string[],
  j: number,
  partial: boolean,
): boolean {
  if (i === pattern.length) return partial || j === path.length;
  if (
    pattern[i] === '**' &&
    (overlaps(pattern, i + 1, path, j, partial) ||
      (j < path.length && overlaps(pattern, i, path, j + 1, partial)))
  ) {
    return true;
  }
  if (j === path.length) return partial;
  return (pattern[i] === '*' || pattern[i] === path[j]) && overlaps(pattern, i + 1, path, j + 1, partial);
}
