/**
 * Test harness: an engine over the memory log, and a minimal node:http server that mounts
 * `ExtraRoute`s the way a ystate server does (`:docId` URL-decoded, an AbortSignal per request
 * that aborts when the client leaves or the server closes).
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BaseEvent } from '@ag-ui/core';
import { Engine, isYStateError, type Json, MemoryUpdateLog } from '@ystate/core';
import { eventually } from '@ystate/core/testing';
import type { ExtraRoute } from '../src/index.js';

export function createEngine(): Engine {
  return new Engine({ log: new MemoryUpdateLog(), nodeId: 'test-node', idleTimeoutMs: 60_000 });
}

export interface TestServer {
  url: string;
  /** `${url}/api/docs/${encodeURIComponent(docId)}/${what}` */
  docUrl(docId: string, what: string): string;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1, port 0. */
export async function serveRoutes(routes: readonly ExtraRoute[]): Promise<TestServer> {
  const closing = new AbortController();
  const server = createServer((req, res) => {
    handle(routes, req, res, closing.signal).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    docUrl: (docId, what) => `${url}/api/docs/${encodeURIComponent(docId)}/${what}`,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  routes: readonly ExtraRoute[],
  req: IncomingMessage,
  res: ServerResponse,
  closing: AbortSignal,
): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  for (const route of routes) {
    if (route.method !== req.method) continue;
    const [prefix, suffix] = route.path.split(':docId') as [string, string];
    if (!pathname.startsWith(prefix) || !pathname.endsWith(suffix)) continue;
    const docId = decodeURIComponent(pathname.slice(prefix.length, pathname.length - suffix.length));
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, closing]);
    try {
      await route.handler(req, res, { docId, principal: undefined, signal });
    } catch (error) {
      if (isYStateError(error) && !res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(error.toJSON()));
        return;
      }
      throw error;
    }
    return;
  }
  res.writeHead(404).end();
}

/** Reads an SSE response body as AG-UI events until `until` says stop (or the stream ends). */
export async function readSse(
  response: Response,
  until: (event: BaseEvent, all: BaseEvent[]) => boolean,
): Promise<BaseEvent[]> {
  const events: BaseEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return events;
      buffer += decoder.decode(value, { stream: true });
      const frames = buffer.split('\n\n');
      buffer = frames.pop() ?? '';
      for (const frame of frames) {
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '') continue;
        const event = JSON.parse(data) as BaseEvent;
        events.push(event);
        if (until(event, events)) return events;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The log seq an emitted state event reflects. */
export function seqOfEvent(event: BaseEvent): number {
  const meta = event.metadata as { ystate?: { seq?: number } } | undefined;
  const seq = meta?.ystate?.seq;
  if (typeof seq !== 'number') throw new Error(`event without metadata.ystate.seq: ${JSON.stringify(event)}`);
  return seq;
}

/** The JSON at a pointer (test-side, no escapes beyond RFC 6901). */
export function jsonAt(value: Json, pointer: string): Json | undefined {
  if (pointer === '') return value;
  let node: Json | undefined = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object') node = node[key];
    else return undefined;
  }
  return node;
}

export { eventually };
