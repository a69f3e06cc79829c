/**
 * The page: a task list that people and an AG-UI agent edit at once. The list is a ystate document,
 * live in the page through @ystate/react (each person's edits apply at once and merge with
 * everyone's); the agent is reached through CopilotKit (`useAgent`, its shared-state hook) via
 * ystate's AG-UI proxy, which gives the agent the document and merges what it writes.
 */

import { CopilotKitProvider, HttpAgent, useAgent, useCopilotKit } from '@copilotkit/react-core/v2';
import { useConnectionStatus, usePresence, useYState, YStateProvider } from '@ystate/react';
import { type FormEvent, StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import './style.css';

type Todo = {
  title: string;
  done: boolean;
  by: string;
};

const AGENT_ID = 'tasks';
const COLORS = ['#e91e63', '#3f51b5', '#009688', '#ff9800', '#795548'];
const query = new URLSearchParams(location.search);
const docId = query.get('doc') ?? 'boards/tasks';
const me = {
  name: query.get('name') ?? `guest ${Math.floor(Math.random() * 1000)}`,
  color: COLORS[Math.floor(Math.random() * COLORS.length)] ?? '#000',
};

function Tasks() {
  const { value: todos = [], patch } = useYState<Todo[]>(docId, '/todos');
  const [title, setTitle] = useState('');
  const add = (event: FormEvent) => {
    event.preventDefault();
    if (title.trim() === '') return;
    // Appended as a CRDT insert: two people adding at once both keep their item.
    patch([{ op: 'add', path: '/-', value: { title: title.trim(), done: false, by: me.name } }]);
    setTitle('');
  };
  return (
    <section>
      <h2>Tasks</h2>
      <ul data-testid="todos">
        {todos.map((todo, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the list has no ids; a position is what a patch names.
          <li key={i} data-by={todo.by}>
            <label>
              <input
                type="checkbox"
                checked={todo.done}
                onChange={() => patch([{ op: 'replace', path: `/${i}/done`, value: !todo.done }])}
              />
              <span className="title">{todo.title}</span>
            </label>
            <span className="by">{todo.by}</span>
            <button type="button" onClick={() => patch([{ op: 'remove', path: `/${i}` }])} title="remove">
              ×
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add}>
        <input
          data-testid="new-todo"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          placeholder="a task"
        />
        <button type="submit">add</button>
      </form>
    </section>
  );
}

function Agent() {
  const { agent } = useAgent({ agentId: AGENT_ID });
  const { copilotkit } = useCopilotKit();
  const [request, setRequest] = useState('');
  const [failure, setFailure] = useState<string>();
  const ask = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(undefined);
    agent.addMessage({ id: crypto.randomUUID(), role: 'user', content: request });
    setRequest('');
    try {
      await copilotkit.runAgent({ agent });
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
  };
  const reply = agent.messages.findLast((message) => message.role === 'assistant');
  const seen = (agent.state as { todos?: unknown[] } | undefined)?.todos?.length;
  return (
    <section>
      <h2>Agent</h2>
      <form onSubmit={ask}>
        <input
          data-testid="ask"
          value={request}
          onChange={(event) => setRequest(event.target.value)}
          placeholder="e.g. buy milk, call Bob"
        />
        <button type="submit" disabled={agent.isRunning}>
          ask the agent
        </button>
      </form>
      <p data-testid="agent-status">{agent.isRunning ? 'working…' : 'idle'}</p>
      <p data-testid="agent-reply">{typeof reply?.content === 'string' ? reply.content : ''}</p>
      <p className="muted" data-testid="agent-view">
        {seen === undefined ? '' : `the agent's view of the list: ${seen} tasks`}
      </p>
      {failure && <p className="error">{failure}</p>}
    </section>
  );
}

function Header() {
  const { state } = useConnectionStatus(docId);
  const { others } = usePresence(docId, me);
  return (
    <header>
      <h1>Shared tasks</h1>
      <span data-testid="status" className={`status ${state}`}>
        {state}
      </span>
      <span data-testid="peers">
        {[me, ...others.flatMap((peer) => (peer.user ? [peer.user] : []))].map((user) => (
          <span key={user.name} className="peer" style={{ borderColor: user.color }}>
            {user.name}
          </span>
        ))}
      </span>
    </header>
  );
}

function App() {
  const agents = useMemo(
    () => ({ [AGENT_ID]: new HttpAgent({ url: `/api/docs/${encodeURIComponent(docId)}/agui` }) }),
    [],
  );
  return (
    <YStateProvider url={`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`}>
      <CopilotKitProvider agents__unsafe_dev_only={agents}>
        <Header />
        <main>
          <Tasks />
          <Agent />
        </main>
      </CopilotKitProvider>
    </YStateProvider>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
