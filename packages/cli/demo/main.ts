/**
 * The demo page of `ystate serve`: a shared text editor on `/text` of the document's root map, a
 * live JSON view of the whole state, and a history slider that shows the state at any earlier
 * seq (from the HTTP API). The document id comes from the URL hash or `?doc=` (default `demo`).
 */

import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { bindTextarea } from './text-binding.js';

const ROOT_MAP = 'state';
const TEXT_KEY = 'text';

const params = new URLSearchParams(location.search);
const docId = docIdFromLocation();
const token = params.get('token') ?? undefined;
const apiBase = `/api/docs/${encodeURIComponent(docId)}`;

const editor = element('editor', HTMLTextAreaElement);
const stateView = element('state', HTMLPreElement);
const status = element('status', HTMLElement);
const peers = element('peers', HTMLElement);
const slider = element('history', HTMLInputElement);
const sliderLabel = element('history-label', HTMLOutputElement);
const historyView = element('history-state', HTMLPreElement);
const historyHint = element('history-hint', HTMLElement);
const docInput = element('doc-input', HTMLInputElement);

document.title = `${docId} · ystate demo`;
docInput.value = docId;
element('doc-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const next = docInput.value.trim();
  if (next !== '' && next !== docId) location.hash = encodeURIComponent(next);
});
// The page holds one document; another id is another page.
window.addEventListener('hashchange', () => location.reload());
const apiLinks = element('api-links', HTMLElement);
apiLinks.append('API: ');
for (const [label, href] of [
  ['state', `${apiBase}/state`],
  ['history', `${apiBase}/history`],
  ['metrics', '/metrics'],
]) {
  const link = document.createElement('a');
  link.href = href!;
  link.textContent = label!;
  apiLinks.append(link, ' ');
}

// --- the document, over the stock y-websocket provider --------------------------------------

const ydoc = new Y.Doc();
const state = ydoc.getMap<unknown>(ROOT_MAP);
const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
const provider = new WebsocketProvider(wsUrl, encodeURIComponent(docId), ydoc, {
  params: token === undefined ? {} : { token },
});

provider.on('status', ({ status: connection }: { status: string }) => {
  status.dataset.state = connection;
  status.textContent = connection === 'connected' ? 'connected' : `${connection}…`;
});
// Awareness (who is here) goes to every node through the bus but is never logged.
provider.awareness.setLocalStateField('user', { joined: Date.now() });
const renderPeers = () => {
  const count = provider.awareness.getStates().size;
  peers.textContent = count > 1 ? `${count} people here` : 'only you here';
  peers.dataset.count = String(count);
};
provider.awareness.on('change', renderPeers);
renderPeers();

let unbind: (() => void) | undefined;
let bound: Y.Text | undefined;

/** Binds the editor to `/text`, making it a Y.Text first if it is missing or a plain string. */
function bindText(): void {
  let text = state.get(TEXT_KEY);
  if (!(text instanceof Y.Text)) {
    const initial = typeof text === 'string' ? text : '';
    text = new Y.Text(initial);
    state.set(TEXT_KEY, text);
  }
  if (text === bound) return;
  unbind?.();
  bound = text as Y.Text;
  unbind = bindTextarea(bound, editor);
  editor.disabled = false;
}

provider.on('sync', (synced: boolean) => {
  // Only after the first sync: creating /text before knowing the server's copy would replace it.
  if (synced) bindText();
});
state.observe((event) => {
  // Another client may (re)create /text, e.g. two fresh clients at once: follow the winner.
  if (event.keysChanged.has(TEXT_KEY) && bound !== undefined) bindText();
});

// --- live JSON view ----------------------------------------------------------------------------

let renderQueued = false;
ydoc.on('update', () => {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    stateView.textContent = JSON.stringify(state.toJSON(), null, 2);
    scheduleHeadRefresh();
  });
});

// --- history ---------------------------------------------------------------------------------

/** The newest seq the log holds, as the server last told us. */
let head = 0;
/** True while the slider sits at the head and follows it. */
let following = true;

function authHeaders(): HeadersInit {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** The log's head seq: the `X-Ystate-Seq` header (or ETag) of the state resource. */
async function fetchHead(): Promise<number | undefined> {
  const response = await fetch(`${apiBase}/state`, { headers: authHeaders(), cache: 'no-store' });
  if (!response.ok) return undefined;
  const header = response.headers.get('x-ystate-seq') ?? response.headers.get('etag') ?? '';
  const seq = Number.parseInt(header.replace(/^W\//, '').replaceAll('"', ''), 10);
  return Number.isFinite(seq) ? seq : undefined;
}

let headTimer: ReturnType<typeof setTimeout> | undefined;
/** Further looks at the head after the last change (it may still be on its way to the log). */
let checksLeft = 0;
/** Asks for the head shortly after changes settle (the log numbers a change once it is durable). */
function scheduleHeadRefresh(delayMs = 150): void {
  checksLeft = 3;
  clearTimeout(headTimer);
  headTimer = setTimeout(refreshHead, delayMs);
}

function refreshHead(): void {
  fetchHead().then(
    (seq) => {
      if (seq !== undefined && seq !== head) {
        head = seq;
        slider.max = String(head);
        slider.disabled = head === 0;
        if (following) slider.value = String(head);
        renderSliderLabel();
      }
      if (checksLeft-- > 0) headTimer = setTimeout(refreshHead, 500);
    },
    (error: unknown) => showHistoryError(error),
  );
}

function renderSliderLabel(): void {
  const at = Number(slider.value);
  sliderLabel.textContent = following ? `live · seq ${head}` : `seq ${at} of ${head}`;
  sliderLabel.dataset.seq = String(at);
}

let historyRequest: AbortController | undefined;
slider.addEventListener('input', () => {
  const at = Number(slider.value);
  following = at >= head;
  renderSliderLabel();
  historyRequest?.abort();
  if (following) {
    historyView.hidden = true;
    historyHint.hidden = false;
    return;
  }
  const request = new AbortController();
  historyRequest = request;
  showStateAt(at, request.signal).catch((error: unknown) => {
    if (!request.signal.aborted) showHistoryError(error);
  });
});

async function showStateAt(seq: number, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${apiBase}/state?at=${seq}`, { headers: authHeaders(), signal });
  const body: unknown = await response.json();
  if (signal.aborted) return;
  if (!response.ok) throw new Error(errorMessage(body) ?? `HTTP ${response.status}`);
  historyView.textContent = JSON.stringify(body, null, 2);
  historyView.dataset.seq = String(seq);
  historyView.hidden = false;
  historyHint.hidden = true;
}

function showHistoryError(error: unknown): void {
  historyHint.hidden = false;
  historyHint.textContent = `History unavailable: ${error instanceof Error ? error.message : String(error)}`;
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: { message?: unknown } }).error;
  return typeof error.message === 'string' ? error.message : undefined;
}

scheduleHeadRefresh(0);

// --- helpers -----------------------------------------------------------------------------------

/** `#projects/42`, `#doc=projects/42` or `?doc=projects/42`; `demo` when none is given. */
function docIdFromLocation(): string {
  const hash = decodeURIComponent(location.hash.slice(1)).replace(/^doc=/, '').trim();
  if (hash !== '') return hash;
  const query = params.get('doc')?.trim();
  return query !== undefined && query !== '' ? query : 'demo';
}

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}

// For debugging from the console.
Object.assign(window, { ystateDemo: { docId, ydoc, provider } });
