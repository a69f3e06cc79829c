// @vitest-environment node
/**
 * @ystate/react rendered on the server with React 18 (this example's own copy; the package's tests
 * use the repository's React 19): it imports without a `window`, renders its hooks' server
 * snapshots, and opens no connection.
 */

import { createRequire } from 'node:module';
import { createElement, version } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';

// @ystate/react sits outside this example, so its `react` is the repository's React 19: point that
// one at this example's React 18 (the instance react-dom/server uses, from Node's require), as in an
// app with one React. Mocks are keyed by the resolved file, hence the path.
vi.mock('../../../node_modules/react/index.js', () => {
  const react = createRequire(import.meta.url)('react');
  return { ...react, default: react };
});

const { useConnectionStatus, usePresence, useYState, YStateProvider } = await import('@ystate/react');

function View() {
  const { value } = useYState('d', '/title');
  const { others } = usePresence('d', { name: 'ssr', color: '#000' });
  const { state } = useConnectionStatus('d');
  return createElement('p', null, `${value ?? 'loading'} ${others.length} ${state}`);
}

describe('server rendering on React 18', () => {
  it('renders the server snapshot without a window', () => {
    expect(version).toMatch(/^18\./);
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const html = renderToString(
      createElement(YStateProvider, { url: 'ws://127.0.0.1:1' }, createElement(View)),
    );
    expect(html).toBe('<p>loading 0 connecting</p>');
  });
});
