/**
 * The dashboard: every chart is one `useYState` on the shared document, so it re-renders only when
 * its own series (or threshold) changes, whoever wrote it — the metrics service over HTTP, or any
 * browser window. Windows write too: alert thresholds, and annotations on the timeline.
 */

import { useConnectionStatus, usePresence, useYState, YStateProvider } from '@ystate/react';
import { type FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Chart, type Point } from './chart.js';
import './style.css';

type Annotation = { t: number; text: string; by: string };

const METRICS = [
  { name: 'cpu', label: 'CPU %', max: 100 },
  { name: 'requests', label: 'requests / s', max: 2000 },
  { name: 'latency', label: 'p95 latency ms', max: 400 },
];
const COLORS = ['#e91e63', '#3f51b5', '#009688', '#ff9800', '#795548'];
const query = new URLSearchParams(location.search);
const docId = query.get('doc') ?? 'dashboards/ops';
const me = {
  name: query.get('name') ?? `viewer ${Math.floor(Math.random() * 1000)}`,
  color: COLORS[Math.floor(Math.random() * COLORS.length)] ?? '#000',
};

function Metric({ name, label, max }: { name: string; label: string; max: number }) {
  const { value: points = [] } = useYState<Point[]>(docId, `/series/${name}`);
  const { value: threshold, set: setThreshold } = useYState<number>(docId, `/thresholds/${name}`);
  const { value: marks = [] } = useYState<Annotation[]>(docId, '/annotations');
  const last = points.at(-1)?.v;
  const alert = last !== undefined && threshold !== undefined && last > threshold;
  return (
    <section className={alert ? 'metric alert' : 'metric'} data-metric={name} data-points={points.length}>
      <h2>
        {label} <span data-testid={`last-${name}`}>{last ?? '–'}</span>
      </h2>
      <Chart label={label} points={points} max={max} threshold={threshold} marks={marks} />
      <label>
        alert above{' '}
        <input
          type="number"
          data-testid={`threshold-${name}`}
          value={threshold ?? ''}
          onChange={(event) => {
            const next = event.target.valueAsNumber;
            if (!Number.isNaN(next)) setThreshold(next);
          }}
        />
      </label>
    </section>
  );
}

function Annotations() {
  const { value: marks = [], patch } = useYState<Annotation[]>(docId, '/annotations');
  const [text, setText] = useState('');
  const mark = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === '') return;
    patch([{ op: 'add', path: '/-', value: { t: Date.now(), text: text.trim(), by: me.name } }]);
    setText('');
  };
  return (
    <section>
      <h2>Annotations</h2>
      <form onSubmit={mark}>
        <input
          data-testid="annotation"
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="deployed v2.3"
        />
        <button type="submit">mark now</button>
      </form>
      <ol data-testid="annotations">
        {marks.map((m) => (
          <li key={`${m.t}-${m.by}-${m.text}`}>
            {new Date(m.t).toLocaleTimeString()} <b>{m.text}</b> <span className="muted">{m.by}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Header() {
  const { state } = useConnectionStatus(docId);
  const { others } = usePresence(docId, me);
  return (
    <header>
      <h1>Live dashboard</h1>
      <span data-testid="status" className={`status ${state}`}>
        {state}
      </span>
      <span data-testid="viewers">
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
  return (
    <YStateProvider url={`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`}>
      <Header />
      <main>
        {METRICS.map((metric) => (
          <Metric key={metric.name} {...metric} />
        ))}
        <Annotations />
      </main>
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
