/**
 * An AG-UI agent edits a ProseMirror document (y-prosemirror's XmlFragment) through the proxy on
 * the real `@ystate/server`, while a person types through a stock y-websocket client into another
 * paragraph and into the one the agent rewrites: both edits survive, the editor's document stays
 * valid for its schema, and the frontend `HttpAgent`'s state equals the document.
 */

import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpAgent } from '@ag-ui/client';
import { EventType, type RunAgentInput } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { Engine } from '@ystate/core';
import { createServer, type YStateServer } from '@ystate/server';
import { pino } from 'pino';
import { schema } from 'prosemirror-schema-basic';
import { EditorState, type Transaction } from 'prosemirror-state';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  prosemirrorJSONToYXmlFragment,
  updateYFragment,
  yXmlFragmentToProseMirrorRootNode,
} from 'y-prosemirror';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { aguiRoutes } from '../src/index.js';
import { createEngine, eventually } from './helpers.js';

const DOC = 'notes/standup';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine;

beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await engine.close();
});

interface Block {
  type: string;
  content?: { type: string; text: string }[];
}

/**
 * An upstream AG-UI agent (node:http, @ag-ui/encoder): it reads paragraph 1 from the state it is
 * given, waits for `pause`, then sends one STATE_DELTA that rewrites that paragraph's text and
 * inserts a paragraph after it — paths and text from the state it saw.
 */
async function startEditorAgent(pause: () => Promise<void>): Promise<string> {
  const server = createHttpServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const input = JSON.parse(body) as RunAgentInput;
    const encoder = new EventEncoder(req.headers.accept === undefined ? {} : { accept: req.headers.accept });
    res.writeHead(200, { 'content-type': encoder.getContentType() });
    const send = (event: object): void => void res.write(encoder.encode(event as never));
    send({ type: EventType.RUN_STARTED, threadId: input.threadId, runId: input.runId });
    const doc = (input.state as { $roots: { prosemirror: { content: Block[] } } }).$roots.prosemirror;
    const seen = doc.content[1]?.content?.[0]?.text ?? '';
    await pause();
    send({
      type: EventType.STATE_DELTA,
      delta: [
        { op: 'test', path: '/$roots/prosemirror/content/1/content/0/text', value: seen },
        {
          op: 'replace',
          path: '/$roots/prosemirror/content/1/content/0/text',
          value: seen.replace('Deploy', 'Deploy the API'),
        },
        {
          op: 'add',
          path: '/$roots/prosemirror/content/2',
          value: { type: 'paragraph', content: [{ type: 'text', text: 'Agent: rollback plan ready.' }] },
        },
      ],
    });
    send({ type: EventType.RUN_FINISHED, threadId: input.threadId, runId: input.runId });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('an agent edits a rich-text document while a person types', () => {
  it('both edits survive, the document stays valid for the schema, and agent.state equals it', async () => {
    let typeNow: () => Promise<void> = async () => undefined;
    const upstream = await startEditorAgent(() => typeNow());
    const server: YStateServer = createServer({
      engine,
      routes: aguiRoutes(engine, { proxy: { upstream } }),
      logger: pino({ level: 'silent' }),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    cleanups.push(() => server.close());

    // The person's editor: a stock y-websocket client with y-prosemirror's conversions.
    const ydoc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${port}`, DOC, ydoc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    cleanups.push(() => provider.destroy());
    await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
    const fragment = ydoc.getXmlFragment('prosemirror');
    prosemirrorJSONToYXmlFragment(
      schema,
      {
        type: 'doc',
        content: [
          { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Stand-up' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'Deploy on Monday.' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'Blocked: none.' }] },
        ],
      },
      fragment,
    );
    let state = EditorState.create({ schema, doc: yXmlFragmentToProseMirrorRootNode(fragment, schema) });
    const edit = (change: (s: EditorState) => Transaction): void => {
      state = state.apply(change(state));
      updateYFragment(ydoc, fragment, state.doc, { mapping: new Map(), isOMark: new Map() });
    };
    await eventually(async () => ((await engine.get(DOC)) as { $roots?: unknown }).$roots !== undefined);

    // While the agent thinks, the person types at the end of paragraph 1 (the one the agent
    // rewrites) and at the start of paragraph 2; the agent waits until the server has both.
    typeNow = async () => {
      const endOfFirst = state.doc.child(0).nodeSize + state.doc.child(1).nodeSize - 1;
      edit((s) => s.tr.insertText(' Confirmed.', endOfFirst));
      const startOfSecond = state.doc.child(0).nodeSize + state.doc.child(1).nodeSize + 1;
      edit((s) => s.tr.insertText('Update: ', startOfSecond));
      await eventually(async () => JSON.stringify(await engine.get(DOC)).includes('Update: '));
    };

    const frontend = new HttpAgent({
      url: `http://127.0.0.1:${port}/api/docs/${encodeURIComponent(DOC)}/agui`,
    });
    await frontend.runAgent();

    const texts = (): string[] => {
      const node = yXmlFragmentToProseMirrorRootNode(fragment, schema);
      node.check(); // valid for the schema
      return node.children.map((child) => child.textContent);
    };
    const expected = [
      'Stand-up',
      'Deploy the API on Monday. Confirmed.',
      'Agent: rollback plan ready.',
      'Update: Blocked: none.',
    ];
    await eventually(() => JSON.stringify(texts()) === JSON.stringify(expected)).catch(() => undefined);
    expect(texts()).toEqual(expected);
    const document = await engine.get(DOC);
    expect(document).toEqual({
      $roots: { prosemirror: yXmlFragmentToProseMirrorRootNode(fragment, schema).toJSON() },
    });
    expect(frontend.state).toEqual(document);
  }, 60_000);
});
