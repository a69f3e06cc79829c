// @vitest-environment happy-dom
/**
 * The hooks in a DOM (happy-dom) against a real ystate server over real WebSockets: two "pages"
 * (two providers, each its own Y.Doc and y-websocket connection) edit one document; values and
 * presence converge; a component re-renders only when its subtree changes; status follows the
 * connection.
 */

import { Engine, MemoryUpdateLog } from '@ystate/core';
import { createServer, type YStateServer } from '@ystate/server';
import { pino } from 'pino';
import { act, createElement, type ReactElement, useEffect } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ConnectionStatus,
  type Presence,
  useConnectionStatus,
  usePresence,
  useYState,
  YStateProvider,
} from '../src/index.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let engine: Engine;
let server: YStateServer;
let url: string;
const roots: Root[] = [];

beforeEach(async () => {
  engine = new Engine({ log: new MemoryUpdateLog(), nodeId: 'test', idleTimeoutMs: 60_000 });
  server = createServer({ engine, logger: pino({ level: 'silent' }) });
  const { port } = await server.listen(0, '127.0.0.1');
  url = `ws://127.0.0.1:${port}`;
});
afterEach(async () => {
  for (const root of roots.splice(0)) act(() => root.unmount());
  await server.close();
  await engine.close();
});

/** Waits (without sleeping) until `condition` holds, checking after every macrotask. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await act(() => new Promise<void>((resolve) => setImmediate(resolve)));
  }
}

/** Renders `element` inside a provider connected to the test server: one "page". */
function page(element: ReactElement): void {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  roots.push(root);
  act(() =>
    root.render(
      createElement(YStateProvider, { url, WebSocketPolyfill: WebSocket, keepAliveMs: 0 }, element),
    ),
  );
}

/** A component that hands its hook's result out and counts its renders. */
function probe<T>(use: () => T): { current: T | undefined; renders: number; element: ReactElement } {
  const box: { current: T | undefined; renders: number; element: ReactElement } = {
    current: undefined,
    renders: 0,
    element: createElement(() => {
      box.current = use();
      box.renders++;
      return null;
    }),
  };
  return box;
}

describe('useYState', () => {
  it('two pages edit one document: each sees the other’s writes', async () => {
    const alice = probe(() => useYState<string[]>('d', '/todos'));
    const bob = probe(() => useYState<string[]>('d', '/todos'));
    page(alice.element);
    page(bob.element);
    const status = probe(() => useConnectionStatus('d'));
    page(status.element);
    await until(() => status.current?.synced === true, 'sync');
    act(() => alice.current?.set(['from alice']));
    await until(() => bob.current?.value?.length === 1, 'bob to see alice');
    act(() => bob.current?.patch([{ op: 'add', path: '/-', value: 'from bob' }]));
    await until(() => alice.current?.value?.length === 2, 'alice to see bob');
    expect(alice.current?.value).toEqual(['from alice', 'from bob']);
    expect(bob.current?.value).toEqual(['from alice', 'from bob']);
    // The server has it too (the log, not only the pages).
    const doc = await engine.open('d');
    try {
      await until(
        () => JSON.stringify(doc.get('/todos')) === JSON.stringify(['from alice', 'from bob']),
        'server state',
      );
    } finally {
      engine.release('d');
    }
  });

  it('re-renders only when its own subtree changes', async () => {
    const onA = probe(() => useYState('d', '/a'));
    const onB = probe(() => useYState('d', '/b/0'));
    const writer = probe(() => useYState('d'));
    page(onA.element);
    page(onB.element);
    page(writer.element);
    const status = probe(() => useConnectionStatus('d'));
    page(status.element);
    await until(() => status.current?.synced === true, 'sync');
    act(() =>
      writer.current?.patch([
        { op: 'add', path: '/a', value: { n: 1 } },
        { op: 'add', path: '/b', value: ['x'] },
      ]),
    );
    await until(() => onB.current?.value === 'x' && onA.current?.value !== undefined, 'first values');
    const aRenders = onA.renders;
    const bRenders = onB.renders;
    const aValue = onA.current?.value;
    for (let i = 0; i < 5; i++)
      act(() => writer.current?.patch([{ op: 'add', path: '/b/-', value: `y${i}` }]));
    act(() => writer.current?.patch([{ op: 'add', path: '/c', value: true }]));
    await until(() => (writer.current?.value as { c?: boolean } | undefined)?.c === true, 'writes');
    expect(onA.renders).toBe(aRenders); // /a untouched: no render
    expect(onA.current?.value).toBe(aValue); // the same object
    expect(onB.renders).toBe(bRenders); // /b/0 untouched by appends
    act(() => writer.current?.patch([{ op: 'add', path: '/b/0', value: 'inserted' }])); // renumbers /b/0
    await until(() => onB.current?.value === 'inserted', 'the insert before /b/0');
    act(() => writer.current?.patch([{ op: 'replace', path: '/a/n', value: 2 }]));
    await until(() => (onA.current?.value as { n: number } | undefined)?.n === 2, 'the change in /a');
    expect(onA.renders).toBe(aRenders + 1);
  });
});

describe('usePresence and useConnectionStatus', () => {
  it('each page sees the other with its name and colour; leaving removes it', async () => {
    const alice = probe(() => usePresence('d', { name: 'Alice', color: '#f00' }));
    const bob = probe(() => usePresence('d', { name: 'Bob', color: '#00f' }));
    page(alice.element);
    page(bob.element);
    const names = (presence: Presence | undefined) => presence?.others.map((peer) => peer.user?.name) ?? [];
    await until(
      () => names(alice.current).includes('Bob') && names(bob.current).includes('Alice'),
      'presence',
    );
    expect(alice.current?.others.find((peer) => peer.user?.name === 'Bob')?.user?.color).toBe('#00f');
    act(() => roots[1]?.unmount());
    await until(() => !names(alice.current).includes('Bob'), 'bob to leave');
  });

  it('status goes connected and synced, then disconnected/connecting when the server goes away', async () => {
    const seen: ConnectionStatus[] = [];
    const status = probe(() => {
      const current = useConnectionStatus('d');
      useEffect(() => void seen.push(current), [current]);
      return current;
    });
    page(status.element);
    await until(() => status.current?.state === 'connected' && status.current.synced, 'connected');
    await server.close();
    await until(() => status.current?.state !== 'connected', 'the disconnection');
    expect(status.current?.synced).toBe(true);
    expect(seen[0]).toEqual({ state: 'connecting', synced: false });
  });
});
