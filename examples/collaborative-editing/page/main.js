// The example page: a ProseMirror editor bound to the document's `prosemirror` XmlFragment with
// y-prosemirror over the stock y-websocket provider, the document's JSON form kept live by its SSE
// stream, and a history slider that reads the JSON at any seq. The page talks to `ystate serve`
// through its own origin (`/api` and `/ws` are proxied to it), so it needs no CORS setup.
import jsonpatch from 'fast-json-patch';
import { baseKeymap } from 'prosemirror-commands';
import { keymap } from 'prosemirror-keymap';
import { schema } from 'prosemirror-schema-basic';
import { EditorState } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { initProseMirrorDoc, ySyncPlugin } from 'y-prosemirror';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const docId = decodeURIComponent(location.hash.slice(1)) || 'notes/demo';
const api = `/api/docs/${encodeURIComponent(docId)}`;
document.getElementById('doc-id').textContent = docId;

// The editor: exactly what a Tiptap or ProseMirror app does; nothing ystate-specific.
const ydoc = new Y.Doc();
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const provider = new WebsocketProvider(wsBase, docId, ydoc);
const status = document.getElementById('status');
provider.on('status', ({ status: state }) => {
  status.dataset.state = state;
  status.textContent = state;
});
const fragment = ydoc.getXmlFragment('prosemirror');
const { doc, mapping } = initProseMirrorDoc(fragment, schema);
const view = new EditorView(document.getElementById('editor'), {
  state: EditorState.create({
    doc,
    schema,
    plugins: [ySyncPlugin(fragment, { mapping }), keymap(baseKeymap)],
  }),
});
window.editorView = view;

// The JSON form, from the server: a snapshot, then one JSON Patch per committed change.
const jsonView = document.getElementById('json');
let json = {};
const events = new EventSource(`${api}/events`);
events.onmessage = (message) => {
  const event = JSON.parse(message.data);
  if (event.type === 'STATE_SNAPSHOT') json = event.snapshot;
  else if (event.type === 'STATE_DELTA')
    json = jsonpatch.applyPatch(json, event.delta, false, false).newDocument;
  else return;
  jsonView.textContent = JSON.stringify(json, null, 2);
  jsonView.dataset.seq = String(event.metadata?.ystate?.seq ?? 0);
  void refreshHistory();
};

// History: the slider spans the log; moving it shows the JSON at that seq.
const slider = document.getElementById('history');
const sliderSeq = document.getElementById('history-seq');
const historyJson = document.getElementById('history-json');
let following = true;
async function refreshHistory() {
  const entries = await (await fetch(`${api}/history`)).json();
  const head = entries.length === 0 ? 0 : entries[entries.length - 1].seq;
  if (head < Number(slider.max)) return; // an older answer
  slider.max = String(head);
  slider.dataset.head = String(head);
  if (following) {
    slider.value = String(head);
    await showAt(head);
  }
}
// Answers may arrive out of order: only the latest request is shown.
let latest = 0;
async function showAt(seq) {
  const request = ++latest;
  sliderSeq.textContent = String(seq);
  const response = await fetch(`${api}/state?at=${seq}`);
  const text = response.ok ? JSON.stringify(await response.json(), null, 2) : '';
  if (request !== latest) return;
  historyJson.textContent = text;
  historyJson.dataset.seq = String(seq);
}
slider.addEventListener('input', () => {
  following = slider.value === slider.max;
  void showAt(Number(slider.value));
});
