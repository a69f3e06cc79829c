/**
 * Documents that never touch the root map `state` — a ProseMirror editor bound with y-prosemirror,
 * a CodeMirror-style top-level Y.Text, a whiteboard's top-level maps and arrays — written by stock
 * y-websocket clients into `ystate serve`: GET /state, /history folded patch by patch, the SSE
 * stream applied with fast-json-patch, and `ystate replay` after a restart all equal the JSON form
 * of the client's document; an agent's PATCH into a paragraph reaches the editor.
 */

import { documentJson, type Json } from '@ystate/core';
import jsonpatch from 'fast-json-patch';
import { schema } from 'prosemirror-schema-basic';
import { EditorState, type Transaction } from 'prosemirror-state';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  prosemirrorJSONToYXmlFragment,
  updateYFragment,
  yXmlFragmentToProseMirrorRootNode,
} from 'y-prosemirror';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { assertBuilt, runCli, ServeProcess, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function connect(wsUrl: string, docId: string): { doc: Y.Doc; synced: Promise<void> } {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(wsUrl, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  cleanups.push(() => {
    provider.destroy();
    doc.destroy();
  });
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    else provider.once('sync', () => resolve());
  });
  return { doc, synced };
}

/** The document's SSE stream, applied event by event with fast-json-patch. */
function follow(url: string): { json: () => Json | undefined } {
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  let json: Json | undefined;
  void (async () => {
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      const frames = buffer.split('\n\n');
      buffer = frames.pop() ?? '';
      for (const frame of frames) {
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data === '') continue;
        const event = JSON.parse(data) as { type: string; snapshot?: Json; delta?: jsonpatch.Operation[] };
        if (event.type === 'STATE_SNAPSHOT') json = event.snapshot;
        else if (event.type === 'STATE_DELTA' && event.delta !== undefined)
          json = jsonpatch.applyPatch(structuredClone(json), event.delta, true, false).newDocument as Json;
      }
    }
  })().catch(() => undefined);
  return { json: () => json };
}

function docUrl(server: ServeProcess, docId: string, rest: string): string {
  return `${server.url}/api/docs/${encodeURIComponent(docId)}/${rest}`;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  expect(response.status, `GET ${url}`).toBe(200);
  return response.json();
}

/** Waits until `read` gives `expected` (a condition on the server, polled). */
async function until(read: () => Promise<unknown> | unknown, expected: unknown, what: string): Promise<void> {
  let last: unknown;
  await waitFor(async () => {
    last = await read();
    return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
  }, what).catch(() => undefined);
  expect(last, what).toEqual(expected);
}

/** JSON with sorted keys, for comparisons where member order does not matter. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  return value;
}

describe('ystate serve shows every root type of a document', () => {
  it('ProseMirror, CodeMirror and whiteboard documents read back equal everywhere', async () => {
    const cwd = await tempDir();
    cleanups.push(cwd.remove);
    const server = await ServeProcess.start(['--port', '0'], { cwd: cwd.path });
    cleanups.push(() => server.stop('SIGKILL'));
    const docs = { rich: 'notes/minutes', code: 'code/main.ts', board: 'boards/1' };
    const streams = Object.fromEntries(
      Object.entries(docs).map(([key, docId]) => [key, follow(docUrl(server, docId, 'events'))]),
    );
    await waitFor(
      () => (Object.values(streams).every((s) => s.json() !== undefined) ? true : undefined),
      'snapshots',
    );

    // A ProseMirror editor (y-prosemirror's own conversions; headless).
    const rich = connect(server.wsUrl, docs.rich);
    await rich.synced;
    const fragment = rich.doc.getXmlFragment('prosemirror');
    prosemirrorJSONToYXmlFragment(
      schema,
      {
        type: 'doc',
        content: [
          { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Minutes' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'Ship on Friday.' }] },
        ],
      },
      fragment,
    );
    let state = EditorState.create({ schema, doc: yXmlFragmentToProseMirrorRootNode(fragment, schema) });
    const edit = (change: (s: EditorState) => Transaction): void => {
      state = state.apply(change(state));
      updateYFragment(rich.doc, fragment, state.doc, { mapping: new Map(), isOMark: new Map() });
    };
    edit((s) => s.tr.insertText(' Really', s.doc.content.size - 2));
    edit((s) => s.tr.addMark(10, 14, schema.marks.strong.create()));
    edit((s) => s.tr.insert(s.doc.content.size, schema.nodes.paragraph.create(null, schema.text('Next'))));

    // A CodeMirror-style text and a whiteboard.
    const code = connect(server.wsUrl, docs.code);
    await code.synced;
    const text = code.doc.getText('codemirror');
    text.insert(0, 'const a = 1;\n');
    text.insert(13, 'const b = 2;\n');
    text.delete(6, 1);
    text.format(0, 5, { bold: true }); // formatting, which the string form leaves out
    const board = connect(server.wsUrl, docs.board);
    await board.synced;
    board.doc.transact(() => {
      const shape = new Y.Map<unknown>();
      shape.set('kind', 'rect');
      board.doc.getMap('shapes').set('r1', shape);
      board.doc.getArray('order').push(['r1']);
    });
    (board.doc.getMap('shapes').get('r1') as Y.Map<unknown>).set('x', 5);

    const clients = { rich, code, board };
    for (const [key, docId] of Object.entries(docs)) {
      const expected = documentJson(clients[key as keyof typeof clients].doc);
      await until(() => getJson(docUrl(server, docId, 'state')), expected, `GET /state of ${docId}`);
      await until(() => canonical(streams[key]?.json()), canonical(expected), `the SSE stream of ${docId}`);
      const history = (await getJson(docUrl(server, docId, 'history'))) as { patch: jsonpatch.Operation[] }[];
      let folded: Json = {};
      for (const entry of history)
        folded = jsonpatch.applyPatch(structuredClone(folded), entry.patch, true, false).newDocument as Json;
      expect(canonical(folded), `/history of ${docId}`).toEqual(canonical(expected));
    }
    expect(documentJson(rich.doc)).toEqual({ $roots: { prosemirror: state.doc.toJSON() } });
    expect(
      await getJson(docUrl(server, docs.code, `state?path=${encodeURIComponent('/$roots/codemirror')}`)),
    ).toBe('const  = 1;\nconst b = 2;\n');
    // The formatting, read with format=delta (now and at a seq).
    const deltaPath = `state?path=${encodeURIComponent('/$roots/codemirror')}&format=delta`;
    expect(await getJson(docUrl(server, docs.code, deltaPath))).toEqual(text.toDelta());
    expect(await getJson(docUrl(server, docs.code, `${deltaPath}&at=1`))).toEqual([
      { insert: 'const a = 1;\n' },
    ]);
    const notText = await fetch(
      docUrl(server, docs.board, `state?path=${encodeURIComponent('/$roots/order')}&format=delta`),
    );
    expect(notText.status).toBe(409);
    expect(
      await getJson(
        docUrl(server, docs.rich, `state?path=${encodeURIComponent('/$roots/prosemirror/content/0')}`),
      ),
    ).toEqual({ type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Minutes' }] });
    // Time travel: the first entry of the rich document is the editor's initial content.
    const first = (await getJson(docUrl(server, docs.rich, 'state?at=1'))) as {
      $roots: { prosemirror: Json };
    };
    expect(first.$roots.prosemirror).toMatchObject({ type: 'doc' });

    // An agent's patch into a paragraph reaches the editor.
    const response = await fetch(docUrl(server, docs.rich, 'state'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([
        { op: 'replace', path: '/$roots/prosemirror/content/2/content/0/text', value: 'Next steps' },
      ]),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    await waitFor(
      () => (fragment.toString().includes('Next steps') ? true : undefined),
      'the agent edit in the editor',
    );
    const edited = yXmlFragmentToProseMirrorRootNode(fragment, schema);
    edited.check();
    expect(edited.child(2).textContent).toBe('Next steps');

    // After a restart, `ystate replay` rebuilds the same JSON from the log.
    await server.stop();
    for (const [key, docId] of Object.entries(docs)) {
      const result = await runCli(['replay', docId], { cwd: cwd.path });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(documentJson(clients[key as keyof typeof clients].doc));
    }
    // A backup restored into another store holds every root.
    const backup = await runCli(['backup', '--out', 'all.ystate-backup'], { cwd: cwd.path });
    expect(backup.code, backup.stderr).toBe(0);
    const restore = await runCli(['restore', 'all.ystate-backup', '--data', 'restored'], { cwd: cwd.path });
    expect(restore.code, restore.stderr).toBe(0);
    const restored = await runCli(['replay', docs.rich, '--data', 'restored'], { cwd: cwd.path });
    expect(JSON.parse(restored.stdout)).toEqual(documentJson(rich.doc));
    const inspected = await runCli(['inspect', docs.rich], { cwd: cwd.path });
    expect(inspected.stdout).toContain('prosemirror (Y.XmlFragment at /$roots/prosemirror)');
  }, 120_000);
});
