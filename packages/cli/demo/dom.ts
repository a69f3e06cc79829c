/** Small helpers shared by the demo's panels: elements, frames, one-line JSON, times, errors. */

import { isYStateClientError } from '@ystate/client';

/** The element with `id`, which must be a `type`; a missing one is a bug in the page. */
export function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}

/** A new element with text content and optional attributes (class, data-*, …). */
export function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  attributes: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== '') node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** Calls `render` at most once per animation frame, however often `schedule` is called. */
export function perFrame(render: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      render();
    });
  };
}

/** A patch or value on one line, for lists (the full form goes in a `<pre>`). */
export function oneLine(value: unknown, max = 160): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A time as the reader's clock shows it, with seconds (history entries are often seconds apart). */
export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A JSON Patch with one operation per line: short, and still JSON. */
export function patchText(ops: readonly unknown[]): string {
  return ops.length === 0 ? '[]' : `[\n${ops.map((op) => `  ${JSON.stringify(op)}`).join(',\n')}\n]`;
}

/** What went wrong, for a person: the server's code and message, or the error's message. */
export function describeError(error: unknown): string {
  if (isYStateClientError(error)) return `refused: ${error.code} — ${error.message}`;
  return `failed: ${error instanceof Error ? error.message : String(error)}`;
}
