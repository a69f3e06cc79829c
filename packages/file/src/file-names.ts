/**
 * Document ids as file names. A docId is any non-empty string (`projects/42`, `a b/é`, `..`); its
 * file name stem is `encodeURIComponent(docId)` with `.`, `*` and the capitals A–Z percent-escaped
 * too, so a stem holds only `a-z 0-9 - _ ! ~ ' ( )` and `%XX`: no separator, no dot (the first dot
 * starts the suffix), no `.`/`..`, and no two ids that differ only in case collide on a
 * case-insensitive file system. `decodeURIComponent` reverses it. See docs/file-store.md.
 */

import { invalidValue } from './store-errors.js';

/** Stems longer than this are refused, so that stem + suffix stays within the usual 255-byte name limit. */
export const MAX_STEM_LENGTH = 240;

/** Device names Windows reserves whatever the extension; their first letter gets escaped. */
const reservedOnWindows = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

/** The file name stem of a document; throws INVALID_VALUE for ids that cannot be one. */
export function fileStemOf(docId: string): string {
  if (typeof docId !== 'string' || docId.length === 0) {
    throw invalidValue('a docId must be a non-empty string');
  }
  let encoded: string;
  try {
    encoded = encodeURIComponent(docId);
  } catch (cause) {
    throw invalidValue('a docId must be well-formed Unicode (it has a lone surrogate)', cause);
  }
  // encodeURIComponent writes its escapes with capital hex digits: keep those, escape the rest.
  let stem = encoded.replace(/%[0-9A-F]{2}|[A-Z.*]/g, (match) =>
    match.length === 3 ? match : percentEscape(match),
  );
  if (reservedOnWindows.test(stem)) stem = percentEscape(stem[0]!) + stem.slice(1);
  if (stem.length > MAX_STEM_LENGTH) {
    throw invalidValue(
      `docId is too long for the file store: its file name would have ${stem.length} characters, at most ${MAX_STEM_LENGTH} fit`,
    );
  }
  return stem;
}

/** The document whose stem this is, or undefined when no docId maps to exactly this stem. */
export function docIdOfStem(stem: string): string | undefined {
  let docId: string;
  try {
    docId = decodeURIComponent(stem);
  } catch {
    return undefined;
  }
  try {
    return fileStemOf(docId) === stem ? docId : undefined;
  } catch {
    return undefined;
  }
}

function percentEscape(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}
