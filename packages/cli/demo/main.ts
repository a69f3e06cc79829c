/**
 * The demo page of `ystate serve`: a shared text editor on `/text` of the document's root map, a
 * live JSON view of the whole state, and a history view (from the HTTP API): a slider that shows
 * the state at any earlier seq with the entry written there (time, origin, patch), "restore this
 * version", "undo this run" for an agent's entries, "back to live", and named versions.
 * The document id comes from the URL hash or `?doc=` (default `demo`).
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
const restoreButton = element('restore', HTMLButtonElement);
const liveButton = element('back-to-live', HTMLButtonElement);
const nameForm = element('name-form', HTMLFormElement);
const nameInput = element('version-name', HTMLInputElement);
const entryView = element('entry', HTMLElement);
const entrySeq = element('entry-seq', HTMLElement);
const entryTime = element('entry-time', HTMLTimeElement);
const entryOrigin = element('entry-origin', HTMLElement);
const entryPatch = element('entry-patch', HTMLPreElement);
const undoRunButton = element('undo-run', HTMLButtonElement);
const versionsList = element('versions', HTMLUListElement);

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
        refreshVersions();
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
  restoreButton.hidden = following;
  liveButton.hidden = following;
  if (following) {
    historyView.hidden = true;
    entryView.hidden = true;
    historyHint.hidden = false;
    return;
  }
  const request = new AbortController();
  historyRequest = request;
  Promise.all([showStateAt(at, request.signal), showEntry(at, request.signal)]).catch((error: unknown) => {
    if (!request.signal.aborted) showHistoryError(error);
  });
});

/** Moves the slider to `seq` (the head means live) and shows what is there. */
function goTo(seq: number): void {
  slider.value = String(Math.min(seq, head));
  slider.dispatchEvent(new Event('input'));
}

/** Back to following the head; the head is asked for again (a write just moved it). */
function goLive(): void {
  goTo(head);
  scheduleHeadRefresh(0);
}

/** One entry of `GET …/history`. */
interface HistoryStep {
  seq: number;
  time: number;
  origin: string;
  kind: string;
  patch: unknown[];
  event?: { type: string; name: string; data?: unknown };
}

/** Shows the entry written at `seq`: when, by whom, its JSON Patch (and lifecycle event). */
async function showEntry(seq: number, signal: AbortSignal): Promise<void> {
  if (seq === 0) {
    entryView.hidden = true;
    return;
  }
  const response = await fetch(`${apiBase}/history?from=${seq}&to=${seq}`, {
    headers: authHeaders(),
    signal,
  });
  const body: unknown = await response.json();
  if (signal.aborted) return;
  if (!response.ok) throw new Error(errorMessage(body) ?? `HTTP ${response.status}`);
  const step = (body as HistoryStep[])[0];
  if (step === undefined) {
    entryView.hidden = true;
    return;
  }
  entrySeq.textContent = String(step.seq);
  entryTime.dateTime = new Date(step.time).toISOString();
  entryTime.textContent = new Date(step.time).toLocaleString();
  entryOrigin.textContent = step.origin;
  entryPatch.textContent = JSON.stringify(
    step.event ? { event: step.event, patch: step.patch } : step.patch,
    null,
    2,
  );
  const run = runOf(step);
  undoRunButton.hidden = run === undefined;
  if (run === undefined) delete undoRunButton.dataset.run;
  else undoRunButton.dataset.run = run;
  entryView.dataset.seq = String(step.seq);
  entryView.hidden = false;
}

/** The AG-UI run an entry belongs to: named by its lifecycle event, or by its origin `agui:<runId>`. */
function runOf(step: HistoryStep): string | undefined {
  const data = step.event?.data;
  if (typeof data === 'object' && data !== null && 'runId' in data && typeof data.runId === 'string') {
    return data.runId;
  }
  return step.origin.startsWith('agui:') ? step.origin.slice('agui:'.length) : undefined;
}

/** POSTs JSON to one of the document's routes; rejects with the server's message. */
async function post(route: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${apiBase}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify(body),
  });
  const answer: unknown = await response.json();
  if (!response.ok) throw new Error(errorMessage(answer) ?? `HTTP ${response.status}`);
  return answer;
}

/** Runs an action of the history view, then goes back to live and says what happened. */
function act(button: HTMLButtonElement, action: () => Promise<string>): void {
  button.disabled = true;
  action().then(
    (done) => {
      button.disabled = false;
      goLive();
      historyHint.textContent = done;
      historyHint.hidden = false;
    },
    (error: unknown) => {
      button.disabled = false;
      showHistoryError(error);
    },
  );
}

restoreButton.addEventListener('click', () => {
  const seq = Number(slider.value);
  act(restoreButton, async () => {
    const { seq: written } = (await post('revert', { to: seq })) as { seq: number };
    return `Restored the document as it was at seq ${seq} (entry ${written}).`;
  });
});
liveButton.addEventListener('click', () => goLive());
undoRunButton.addEventListener('click', () => {
  const run = undoRunButton.dataset.run;
  if (run === undefined) return;
  act(undoRunButton, async () => {
    const { entries } = (await post('undo', { run })) as { entries: number };
    return `Undid run ${run} (${entries} change${entries === 1 ? '' : 's'}); everyone else's edits stay.`;
  });
});

nameForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (name === '') return;
  const seq = following ? undefined : Number(slider.value);
  post('versions', seq === undefined ? { name } : { name, seq }).then(
    () => {
      nameInput.value = '';
      refreshVersions();
    },
    (error: unknown) => showHistoryError(error),
  );
});

/** A named version as `GET …/versions` lists it. */
interface NamedVersion {
  name: string;
  seq: number;
  origin: string;
  time: number;
}

let versionsRequest: AbortController | undefined;
/** Lists the named versions; each moves the slider to its seq. */
function refreshVersions(): void {
  versionsRequest?.abort();
  const request = new AbortController();
  versionsRequest = request;
  fetch(`${apiBase}/versions`, { headers: authHeaders(), signal: request.signal })
    .then(async (response) => {
      const body: unknown = await response.json();
      if (!response.ok) throw new Error(errorMessage(body) ?? `HTTP ${response.status}`);
      const items = (body as NamedVersion[]).map((version) => {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = version.name;
        button.dataset.seq = String(version.seq);
        button.addEventListener('click', () => goTo(version.seq));
        const about = document.createElement('span');
        about.className = 'muted';
        about.textContent = ` seq ${version.seq} · named by ${version.origin} · ${new Date(version.time).toLocaleString()}`;
        item.append(button, about);
        return item;
      });
      if (items.length === 0) {
        const none = document.createElement('li');
        none.className = 'muted';
        none.textContent = 'none yet';
        items.push(none);
      }
      versionsList.replaceChildren(...items);
    })
    .catch((error: unknown) => {
      if (!request.signal.aborted) showHistoryError(error);
    });
}

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
