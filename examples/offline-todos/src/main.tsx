/**
 * A shared todo list that works offline, on React 18: `@ystate/react` over y-websocket, with
 * y-indexeddb keeping the document in the browser (`offline={IndexeddbPersistence}`). Stop the
 * server, keep editing, reload: the edits are still there, and they reach everyone once it is back.
 */

import { useConnectionStatus, usePresence, useYState, YStateProvider } from '@ystate/react';
import { type FormEvent, StrictMode, useState, version } from 'react';
import { createRoot } from 'react-dom/client';
import { IndexeddbPersistence } from 'y-indexeddb';

const query = new URLSearchParams(location.search);
const docId = query.get('doc') ?? 'demo/offline-todos';
// The ystate server: the one that served the page, unless `?server=ws://…` names another.
const server = query.get('server') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const me = { name: query.get('name') ?? `guest ${Math.floor(Math.random() * 1000)}`, color: '#3f51b5' };

function Todos() {
  const { value: todos, patch } = useYState<string[]>(docId, '/todos');
  const { others } = usePresence(docId, me);
  const { state, synced } = useConnectionStatus(docId);
  const [text, setText] = useState('');
  const add = (event: FormEvent) => {
    event.preventDefault();
    // Appended as a CRDT insert: merged with everyone's, online or not.
    patch([{ op: 'add', path: '/-', value: text }]);
    setText('');
  };
  return (
    <>
      <p>
        <span data-testid="status">{state}</span>
        {synced ? '' : ' (not synced yet)'} · also here:{' '}
        <span data-testid="others">{others.map((peer) => peer.user?.name).join(', ') || 'nobody'}</span>
      </p>
      <ul data-testid="todos">
        {(todos ?? []).map((todo, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: plain strings, positions are what patches name.
          <li key={i}>{todo}</li>
        ))}
      </ul>
      <form onSubmit={add}>
        <input data-testid="new-todo" value={text} onChange={(event) => setText(event.target.value)} />
        {/* The server creates the list; a page that never reached it has none to add to yet. */}
        <button type="submit" disabled={todos === undefined}>
          add
        </button>
      </form>
      <p data-testid="react">React {version}</p>
    </>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <YStateProvider url={server} offline={IndexeddbPersistence}>
        <Todos />
      </YStateProvider>
    </StrictMode>,
  );
}
