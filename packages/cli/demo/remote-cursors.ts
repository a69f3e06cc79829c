/**
 * Remote cursors in the shared textarea, the way y-codemirror and y-prosemirror show them: each
 * page puts its selection in its awareness state as Yjs relative positions (`cursor: { anchor,
 * head }`, which stay on the same characters while others type), and draws everyone else's caret
 * and name over the textarea. A textarea has no API for where a character is drawn, so a hidden
 * copy with the same box and font (a "mirror") measures it.
 */

import * as Y from 'yjs';
import { create, perFrame } from './dom.js';
import { type Awareness, userOf } from './presence.js';

/** The awareness field: relative positions as `Y.relativePositionToJSON` gives them. */
interface SharedCursor {
  anchor: unknown;
  head: unknown;
}

/** Shares this page's selection in `textarea` (bound to `text`) and draws the others' cursors in `layer`. */
export function bindCursors(
  awareness: Awareness,
  text: Y.Text,
  textarea: HTMLTextAreaElement,
  layer: HTMLElement,
): () => void {
  // Each awareness change is a message to everyone: send one only when the selection moved.
  let sent = '';
  const send = (cursor: SharedCursor | null) => {
    const json = JSON.stringify(cursor);
    if (json === sent) return;
    sent = json;
    awareness.setLocalStateField('cursor', cursor);
  };
  const share = () => {
    if (document.activeElement !== textarea) return;
    const position = (index: number) =>
      Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, index));
    send({ anchor: position(textarea.selectionStart), head: position(textarea.selectionEnd) });
  };
  const hide = () => send(null);

  const render = perFrame(() => {
    const doc = text.doc;
    const carets: HTMLElement[] = [];
    for (const [clientId, state] of awareness.getStates()) {
      if (clientId === awareness.clientID || doc === null) continue;
      const user = userOf(state);
      const cursor = state.cursor as SharedCursor | null | undefined;
      if (user === undefined || cursor == null) continue;
      const head = absoluteIndex(cursor.head, doc, text);
      if (head === undefined) continue;
      const point = caretPoint(textarea, head);
      if (point.top < 0 || point.top > textarea.clientHeight) continue;
      const caret = create('div', '', { class: 'cursor', 'data-name': user.name });
      caret.style.cssText = `left:${point.left}px;top:${point.top}px;height:${point.height}px;--who:${user.color}`;
      // On the first line the name goes below the caret, inside the textarea.
      if (point.top < point.height) caret.classList.add('below');
      caret.append(create('span', user.name));
      carets.push(caret);
    }
    layer.replaceChildren(...carets);
  });

  const listening = new AbortController();
  const options = { signal: listening.signal };
  for (const name of ['select', 'keyup', 'pointerup', 'input', 'focus'] as const)
    textarea.addEventListener(name, share, options);
  document.addEventListener('selectionchange', share, options);
  textarea.addEventListener('blur', hide, options);
  textarea.addEventListener('scroll', render, options);
  window.addEventListener('resize', render, options);
  awareness.on('change', render);
  text.observe(render);
  render();
  return () => {
    listening.abort();
    awareness.off('change', render);
    text.unobserve(render);
    layer.replaceChildren();
  };
}

/** Where a shared relative position is now in `text` (undefined: not in this text, or malformed). */
function absoluteIndex(json: unknown, doc: Y.Doc, text: Y.Text): number | undefined {
  try {
    const absolute = Y.createAbsolutePositionFromRelativePosition(
      Y.createRelativePositionFromJSON(json),
      doc,
    );
    return absolute !== null && absolute.type === text ? absolute.index : undefined;
  } catch {
    return undefined; // another page's awareness may hold anything
  }
}

const MIRRORED = [
  'boxSizing',
  'width',
  'borderTopWidth',
  'borderRightWidth',
  'borderBottomWidth',
  'borderLeftWidth',
  'paddingTop',
  'paddingRight',
  'paddingBottom',
  'paddingLeft',
  'fontStyle',
  'fontVariant',
  'fontWeight',
  'fontSize',
  'lineHeight',
  'fontFamily',
  'letterSpacing',
  'wordSpacing',
  'tabSize',
  'textIndent',
] as const;

let mirror: HTMLDivElement | undefined;

/** Where the caret before character `index` is drawn, relative to the textarea's border box. */
function caretPoint(
  textarea: HTMLTextAreaElement,
  index: number,
): { left: number; top: number; height: number } {
  const style = getComputedStyle(textarea);
  if (mirror === undefined) {
    mirror = create('div', '', { 'aria-hidden': 'true' });
    mirror.style.cssText =
      'position:absolute;top:0;left:-10000px;visibility:hidden;white-space:pre-wrap;overflow-wrap:break-word;overflow:hidden';
    document.body.append(mirror);
  }
  for (const property of MIRRORED) mirror.style[property] = style[property];
  // The textarea's scrollbar narrows its text: give the mirror one too.
  mirror.style.overflowY = textarea.scrollHeight > textarea.clientHeight ? 'scroll' : 'hidden';
  mirror.textContent = textarea.value.slice(0, index);
  const marker = create('span', textarea.value.slice(index, index + 1) || '.');
  mirror.append(marker);
  const lineHeight = Number.parseFloat(style.lineHeight) || Number.parseFloat(style.fontSize) * 1.4;
  return {
    left: marker.offsetLeft + Number.parseFloat(style.borderLeftWidth) - textarea.scrollLeft,
    top: marker.offsetTop + Number.parseFloat(style.borderTopWidth) - textarea.scrollTop,
    height: lineHeight,
  };
}
