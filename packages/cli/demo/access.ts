/**
 * What the page says when the server refuses it (a server started with `--auth-secret`): the
 * WebSocket closes with 4401 (no token, or a bad or expired one) or 4403 (the token does not grant
 * this document). Instead of "disconnected…" forever, the page stops reconnecting and shows why,
 * the `ystate token` command that mints a token for this document, a field to paste one, and a link
 * to the docs.
 */

import { element } from './dom.js';

/** The WebSocket close codes of a refusal (docs/server.md, "Close codes"). */
export const CloseCode = { UNAUTHORIZED: 4401, FORBIDDEN: 4403 } as const;

/** Shows the notice for a refusal with `code` (and the server's `reason`) on `docId`. */
export function showAccessNotice(code: number, reason: string, docId: string, hadToken: boolean): void {
  const notice = element('access', HTMLElement);
  const why =
    code === CloseCode.FORBIDDEN
      ? `Your token does not grant the document "${docId}".`
      : hadToken
        ? `The server refused this page's token${reason === '' ? '' : `: ${reason}`}.`
        : 'This page has no token, and this server only lets in those who have one.';
  element('access-title', HTMLElement).textContent =
    code === CloseCode.FORBIDDEN ? 'This token cannot open this document' : 'This server needs a token';
  element('access-reason', HTMLElement).textContent = why;
  element('access-command', HTMLElement).textContent =
    `ystate token --secret "$SECRET" --grant '${docId.replaceAll("'", '')}:write'`;
  notice.hidden = false;
}

/** Wires the token field: a pasted token reloads the page with `?token=`. */
export function acceptPastedToken(): void {
  const input = element('token-input', HTMLInputElement);
  element('token-form', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') return;
    const url = new URL(location.href);
    url.searchParams.set('token', token);
    location.assign(url);
  });
}
