/**
 * The patch console: a JSON Patch typed in the page, the `curl` command that sends the same request
 * (kept in step as one types), and an Apply button that sends it — the way a backend service or a
 * script writes into the document, over HTTP, next to the browsers on y-websocket.
 */

import type { PatchOperation, YStateClient } from '@ystate/client';
import { describeError, patchText } from './dom.js';

/** The console's elements. */
export interface PatchConsoleView {
  input: HTMLTextAreaElement;
  curl: HTMLPreElement;
  apply: HTMLButtonElement;
  result: HTMLOutputElement;
}

const EXAMPLE: PatchOperation[] = [
  { op: 'add', path: '/board/tasks/-', value: { id: 'from-curl', title: 'Added over HTTP', status: 'todo' } },
];

/** Wires the console to `docId` on the server `client` talks to. */
export function showPatchConsole(
  client: YStateClient,
  docId: string,
  withToken: boolean,
  view: PatchConsoleView,
): void {
  const url = client.docUrl(docId, 'state');
  const render = () => {
    const parsed = parse(view.input.value);
    view.apply.disabled = parsed === undefined;
    if (parsed === undefined) {
      view.result.textContent = 'not JSON yet';
      view.result.dataset.state = 'invalid';
      return;
    }
    if (view.result.dataset.state === 'invalid') {
      view.result.textContent = '';
      delete view.result.dataset.state;
    }
    view.curl.textContent = [
      `curl -X PATCH ${shellQuote(url)}`,
      `  -H 'Content-Type: application/json-patch+json'`,
      ...(withToken ? [`  -H "Authorization: Bearer $TOKEN"`] : []),
      `  -d ${shellQuote(JSON.stringify(parsed))}`,
    ].join(' \\\n');
  };

  view.apply.addEventListener('click', () => {
    const ops = parse(view.input.value);
    if (ops === undefined) return;
    view.apply.disabled = true;
    view.result.textContent = 'sending…';
    view.result.dataset.state = 'pending';
    // No If-Match: the patch applies to the state the server has when it arrives.
    client.patch(docId, ops as PatchOperation[], { baseSeq: null }).then(
      ({ seq }) => {
        view.result.textContent = `applied: {"seq":${seq}}`;
        view.result.dataset.state = 'applied';
        view.apply.disabled = false;
      },
      (error: unknown) => {
        view.result.textContent = describeError(error);
        view.result.dataset.state = 'refused';
        view.apply.disabled = false;
      },
    );
  });

  view.input.value = patchText(EXAMPLE);
  view.input.addEventListener('input', render);
  render();
}

/** The input as JSON, or undefined when it is not JSON (the server judges whether it is a patch). */
function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One POSIX shell word: single quotes, with each `'` closed, escaped and reopened. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
