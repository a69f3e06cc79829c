/**
 * The demo page of `ystate serve`: one document seen every way ystate offers it.
 *
 * - The page's own replica (a `StateDocument` over a `Y.Doc`, synced by the stock y-websocket
 *   provider) holds a task board at `/board`, edited with JSON Patch, and shared notes at `/text`
 *   (a `Y.Text` bound to a textarea), with presence and remote cursors over awareness.
 * - The patch console writes over HTTP (`PATCH …/state`) and shows the same request as `curl`.
 * - The AG-UI panel and the live JSON view follow the server's event stream (`GET …/events`).
 * - The history view reads the log over HTTP: timeline, slider, restore, undo a run, versions.
 * - A server that wants a token gets a notice that says so and how to get one.
 *
 * The document id comes from the URL hash or `?doc=` (default `demo`), a token from `?token=`, a
 * name from `?name=`.
 */

import { createClient } from '@ystate/client';
import { collaborativeText, StateDocument } from '@ystate/core';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { acceptPastedToken, CloseCode, showAccessNotice } from './access.js';
import { STARTER_BOARD, showBoard } from './board.js';
import { create, element } from './dom.js';
import { HistoryView } from './history-view.js';
import { followEvents } from './live-events.js';
import { showPatchConsole } from './patch-console.js';
import { localUser, showPresence } from './presence.js';
import { bindCursors } from './remote-cursors.js';
import { bindTextarea } from './text-binding.js';

const TEXT_KEY = 'text';

const params = new URLSearchParams(location.search);
const docId = docIdFromLocation();
const token = params.get('token') ?? undefined;
const client = createClient({ url: location.origin, ...(token === undefined ? {} : { token }) });

document.title = `${docId} · ystate demo`;
const docInput = element('doc-input', HTMLInputElement);
docInput.value = docId;
element('doc-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const next = docInput.value.trim();
  if (next !== '' && next !== docId) location.hash = encodeURIComponent(next);
});
// The page holds one document; another id is another page.
window.addEventListener('hashchange', () => location.reload());
acceptPastedToken();

// Links to the API behind each panel (the token, when there is one, stays out of them).
const eventsUrl = client.docUrl(docId, 'events');
element('events-link', HTMLAnchorElement).href = eventsUrl;
const apiLinks = element('api-links', HTMLElement);
apiLinks.append('API: ');
for (const [label, href] of [
  ['state', client.docUrl(docId, 'state')],
  ['history', client.docUrl(docId, 'history')],
  ['versions', client.docUrl(docId, 'versions')],
  ['events', eventsUrl],
  ['metrics', '/metrics'],
] as const) {
  apiLinks.append(create('a', label, { href }), ' ');
}

// --- the page's replica, over the stock y-websocket provider ------------------------------------

const ydoc = new Y.Doc();
const doc = new StateDocument(docId, { ydoc });
const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
const provider = new WebsocketProvider(wsUrl, encodeURIComponent(docId), ydoc, {
  params: token === undefined ? {} : { token },
});

const status = element('status', HTMLElement);
provider.on('status', ({ status: connection }: { status: string }) => {
  if (status.dataset.state === 'refused') return;
  status.dataset.state = connection;
  status.textContent = connection === 'connected' ? 'connected' : `${connection}…`;
});
provider.on('connection-close', (event: CloseEvent | null) => {
  if (event?.code !== CloseCode.UNAUTHORIZED && event?.code !== CloseCode.FORBIDDEN) return;
  // Retrying with the same token gets the same answer: stop, and say why.
  provider.disconnect();
  stopEvents();
  status.dataset.state = 'refused';
  status.textContent = 'refused';
  showAccessNotice(event.code, event.reason, docId, token !== undefined);
});

showPresence(provider.awareness, localUser(params), element('peers', HTMLUListElement));

const editor = element('editor', HTMLTextAreaElement);
const cursorLayer = element('cursors', HTMLElement);
let bound: Y.Text | undefined;
let unbind: (() => void) | undefined;

/** Binds the editor (and cursors) to `/text`, making it a Y.Text first if it is missing or a plain string. */
function bindText(): void {
  let text = doc.root.get(TEXT_KEY);
  if (!(text instanceof Y.Text)) {
    doc.set(`/${TEXT_KEY}`, collaborativeText(typeof text === 'string' ? text : ''));
    text = doc.root.get(TEXT_KEY);
  }
  if (text === bound || !(text instanceof Y.Text)) return;
  unbind?.();
  bound = text;
  const unbindText = bindTextarea(text, editor);
  const unbindCursors = bindCursors(provider.awareness, text, editor, cursorLayer);
  unbind = () => {
    unbindText();
    unbindCursors();
  };
  editor.disabled = false;
}

let started = false;
provider.on('sync', (synced: boolean) => {
  // Only after the first sync: writing before knowing the server's copy would replace it.
  if (!synced || started) return;
  started = true;
  if (Object.keys(doc.toJSON()).length === 0)
    doc.applyPatch([{ op: 'add', path: '/board', value: STARTER_BOARD }]);
  bindText();
  showBoard(doc, {
    board: element('board', HTMLElement),
    form: element('task-form', HTMLFormElement),
    title: element('task-title', HTMLInputElement),
    add: element('task-add', HTMLButtonElement),
    lastPatch: element('board-patch', HTMLPreElement),
  });
});
doc.onChange((change) => {
  // Another page may (re)create /text, e.g. two fresh pages at once: follow the winner.
  if (bound !== undefined && change.ops.some((op) => op.path === '' || op.path === `/${TEXT_KEY}`))
    bindText();
});

// --- over HTTP and SSE -----------------------------------------------------------------------

showPatchConsole(client, docId, token !== undefined, {
  input: element('patch-input', HTMLTextAreaElement),
  curl: element('patch-curl', HTMLPreElement),
  apply: element('patch-apply', HTMLButtonElement),
  result: element('patch-result', HTMLOutputElement),
});

const history = new HistoryView(client, docId, {
  slider: element('history', HTMLInputElement),
  label: element('history-label', HTMLOutputElement),
  hint: element('history-hint', HTMLElement),
  state: element('history-state', HTMLPreElement),
  restore: element('restore', HTMLButtonElement),
  live: element('back-to-live', HTMLButtonElement),
  nameForm: element('name-form', HTMLFormElement),
  nameInput: element('version-name', HTMLInputElement),
  entry: element('entry', HTMLElement),
  entrySeq: element('entry-seq', HTMLElement),
  entryTime: element('entry-time', HTMLTimeElement),
  entryOrigin: element('entry-origin', HTMLElement),
  entryPatch: element('entry-patch', HTMLPreElement),
  undoRun: element('undo-run', HTMLButtonElement),
  timeline: element('timeline', HTMLOListElement),
  versions: element('versions', HTMLUListElement),
});

// EventSource cannot send headers: the token goes in the query, as for the WebSocket.
const stopEvents = followEvents(client.docUrl(docId, 'events', token === undefined ? {} : { token }), {
  list: element('events', HTMLOListElement),
  state: element('state', HTMLPreElement),
  onSeq: (seq) => history.headAt(seq),
});

/** `#projects/42`, `#doc=projects/42` or `?doc=projects/42`; `demo` when none is given. */
function docIdFromLocation(): string {
  const hash = decodeURIComponent(location.hash.slice(1)).replace(/^doc=/, '').trim();
  if (hash !== '') return hash;
  const query = params.get('doc')?.trim();
  return query !== undefined && query !== '' ? query : 'demo';
}

// For debugging from the console.
Object.assign(window, { ystateDemo: { docId, doc, ydoc, provider, client } });
