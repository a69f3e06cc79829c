/** The smallest splice between two strings, for writing a new string into a collaborative text. */

/** A splice: delete `deleteCount` UTF-16 units at `index`, insert `text` there. */
export interface TextSplice {
  index: number;
  deleteCount: number;
  text: string;
}

/**
 * The splice that turns `before` into `after` by replacing only their differing middle (so
 * concurrent edits elsewhere in the text survive a merge), never splitting a surrogate pair.
 */
export function spliceBetween(before: string, after: string): TextSplice {
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let end = 0;
  while (
    end < max - start &&
    before.charCodeAt(before.length - 1 - end) === after.charCodeAt(after.length - 1 - end)
  )
    end++;
  // Widen the replaced middle to whole code points.
  if (start > 0 && isHighSurrogate(before.charCodeAt(start - 1))) start--;
  if (end > 0 && isLowSurrogate(before.charCodeAt(before.length - end))) end--;
  return {
    index: start,
    deleteCount: before.length - start - end,
    text: after.slice(start, after.length - end),
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
