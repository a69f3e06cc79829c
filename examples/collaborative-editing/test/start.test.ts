/**
 * Smoke test of `npm start`: it starts `ystate serve` and the page; the page is served, and its
 * `/api` and `/ws` reach the server (a y-websocket client through the page's origin writes a
 * paragraph that GET /state through the page's origin shows).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schema } from 'prosemirror-schema-basic';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { prosemirrorJSONToYXmlFragment } from 'y-prosemirror';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { freePort, waitFor } from '../../../packages/cli/test/cli-process.js';

const INDEX = fileURLToPath(new URL('../index.mjs', import.meta.url));
let child: ChildProcess | undefined;
let cwd: string | undefined;

afterAll(async () => {
  child?.kill('SIGTERM');
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('examples/collaborative-editing: npm start', () => {
  it('serves the page and forwards its API and WebSocket to ystate serve', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'ystate-example-editing-'));
    const [ystatePort, pagePort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, [INDEX], {
      cwd,
      env: { ...process.env, YSTATE_PORT: String(ystatePort), PORT: String(pagePort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const pageUrl = `http://127.0.0.1:${pagePort}`;
    await waitFor(
      () => (output.includes(`Open ${pageUrl}/#notes/demo`) ? true : undefined),
      'npm start',
      90_000,
    );
    const html = await (await fetch(`${pageUrl}/`)).text();
    expect(html).toContain('<div id="editor">');

    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${pagePort}/ws`, 'notes/smoke', doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    try {
      await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
      prosemirrorJSONToYXmlFragment(
        schema,
        { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'smoke' }] }] },
        doc.getXmlFragment('prosemirror'),
      );
      const expected = {
        $roots: {
          prosemirror: {
            type: 'doc',
            content: [{ type: 'paragraph', content: [{ type: 'text', text: 'smoke' }] }],
          },
        },
      };
      const seen = await waitFor(async () => {
        const response = await fetch(`${pageUrl}/api/docs/notes%2Fsmoke/state`);
        const json = (await response.json()) as unknown;
        return JSON.stringify(json) === JSON.stringify(expected) ? json : undefined;
      }, 'the paragraph in GET /state through the page');
      expect(seen).toEqual(expected);
    } finally {
      provider.destroy();
    }
  }, 120_000);
});
