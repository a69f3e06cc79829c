/**
 * A minimal two-way binding between a `<textarea>` and a `Y.Text`: local input becomes one
 * delete + insert on the Y.Text (so concurrent edits elsewhere in the text merge), remote changes
 * rewrite the textarea and move the selection by the change's delta (so the caret stays put).
 */

import type * as Y from 'yjs';

/** The change that turns `before` into `after`, found around the caret (`cursor`, in `after`). */
export interface TextSplice {
  index: number;
  remove: number;
  insert: string;
}

/**
 * The smallest single splice from `before` to `after`. The caret disambiguates repeats: typing
 * `a` into `aa` at the end is an insert at 2, not at 0.
 */
export function spliceBetween(before: string, after: string, cursor: number): TextSplice {
  // Text after the caret is what the user did not touch: match the suffix first, up to the caret.
  const maxSuffix = Math.min(before.length, Math.max(0, after.length - cursor));
  let suffix = 0;
  while (suffix < maxSuffix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix])
    suffix++;
  const maxPrefix = Math.min(before.length, after.length) - suffix;
  let prefix = 0;
  while (prefix < maxPrefix && before[prefix] === after[prefix]) prefix++;
  // Never split a surrogate pair: Y.Text and the textarea count UTF-16 units alike, but a half
  // emoji is not text.
  if (prefix > 0 && isHighSurrogate(after.charCodeAt(prefix - 1))) prefix--;
  if (suffix > 0 && isLowSurrogate(after.charCodeAt(after.length - suffix))) suffix--;
  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  };
}

/** Moves a position in the text by a Y.Text delta (inserts before it push it right). */
export function transformPosition(position: number, delta: YTextDelta): number {
  let at = 0;
  let result = position;
  for (const op of delta) {
    if (op.retain !== undefined) {
      at += op.retain;
    } else if (op.insert !== undefined) {
      const length = typeof op.insert === 'string' ? op.insert.length : 1;
      if (at < result) result += length;
      at += length;
    } else if (op.delete !== undefined) {
      if (at < result) result -= Math.min(op.delete, result - at);
    }
    if (at > result) break;
  }
  return result;
}

/** What `Y.YTextEvent.delta` holds. */
export type YTextDelta = ReadonlyArray<{ insert?: string | object; retain?: number; delete?: number }>;

/** Binds `textarea` to `text` until the returned function is called. */
export function bindTextarea(text: Y.Text, textarea: HTMLTextAreaElement): () => void {
  const doc = text.doc;
  if (doc === null) throw new Error('the Y.Text must be part of a Y.Doc');
  const origin = { binding: 'textarea' };
  // What the textarea showed after the last sync with the Y.Text: the base of the next local diff.
  let shown = text.toString();
  textarea.value = shown;

  const onInput = () => {
    const next = textarea.value;
    const { index, remove, insert } = spliceBetween(shown, next, textarea.selectionEnd);
    shown = next;
    if (remove === 0 && insert === '') return;
    doc.transact(() => {
      if (remove > 0) text.delete(index, remove);
      if (insert !== '') text.insert(index, insert);
    }, origin);
  };

  const onChange = (event: Y.YTextEvent, transaction: Y.Transaction) => {
    if (transaction.origin === origin) return;
    const delta = event.delta as YTextDelta;
    const focused = document.activeElement === textarea;
    const start = transformPosition(textarea.selectionStart, delta);
    const end = transformPosition(textarea.selectionEnd, delta);
    const direction = textarea.selectionDirection;
    shown = text.toString();
    textarea.value = shown;
    if (focused) textarea.setSelectionRange(start, end, direction);
  };

  textarea.addEventListener('input', onInput);
  text.observe(onChange);
  return () => {
    textarea.removeEventListener('input', onInput);
    text.unobserve(onChange);
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
