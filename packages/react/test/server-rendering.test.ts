// @vitest-environment node
/**
 * Server rendering: the package imports without a `window` (an access at import would fail this
 * file before any test), renders its hooks' server snapshots and opens no connection.
 */

import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { useConnectionStatus, usePresence, useYState, YStateProvider } from '../src/index.js';

function View() {
  const { value } = useYState('d', '/title');
  const { others } = usePresence('d', { name: 'ssr', color: '#000' });
  const { state } = useConnectionStatus('d');
  return createElement('p', null, `${value ?? 'loading'} ${others.length} ${state}`);
}

describe('server rendering', () => {
  it('renders the server snapshot without a window', () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const html = renderToString(
      createElement(YStateProvider, { url: 'ws://127.0.0.1:1' }, createElement(View)),
    );
    expect(html).toBe('<p>loading 0 connecting</p>');
  });

  it('a hook outside a provider says so', () => {
    expect(() => renderToString(createElement(View))).toThrow(/inside a <YStateProvider>/);
  });
});
