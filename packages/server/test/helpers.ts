/** Shared pieces of the server tests: servers on port 0, real y-websocket clients, raw protocol clients, waiting on events. */

import { Writable } from 'node:stream';
import { Engine, MemoryUpdateLog, type SyncBus, type UpdateLog } from '@ystate/core';
import { within } from '@ystate/core/testing';
import * as decoding from 'lib0/decoding';
import { type Logger, pino } from 'pino';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createServer, type ServerOptions, type YStateServer } from '../src/index.js';
import { encodeSyncStep1, MessageType } from '../src/protocol.js';

/** Resources a test made, released after it (in reverse order). */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Registers something to release after the current test. */
export function defer(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

export const silent = pino({ level: 'silent' });

/** A pino logger at trace level (no redaction of its own) whose lines are kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

export interface TestServer {
  readonly server: YStateServer;
  readonly engine: Engine;
  readonly log: UpdateLog;
  /** `http://127.0.0.1:PORT` */
  readonly http: string;
  /** `ws://127.0.0.1:PORT` */
  readonly ws: string;
}

/** Starts a server on a free port over a new engine (a memory log unless one is given); closed after the test. */
export async function startServer(
  options: Partial<ServerOptions> & { log?: UpdateLog; bus?: SyncBus; idleTimeoutMs?: number } = {},
): Promise<TestServer> {
  const { log = new MemoryUpdateLog(), idleTimeoutMs, ...rest } = options;
  const engineOptions: ConstructorParameters<typeof Engine>[0] = { log };
  if (rest.bus) engineOptions.bus = rest.bus;
  if (idleTimeoutMs !== undefined) engineOptions.idleTimeoutMs = idleTimeoutMs;
  const engine = options.engine ?? new Engine(engineOptions);
  const server = createServer({ logger: silent, ...rest, engine });
  const address = await server.listen(0, '127.0.0.1');
  defer(async () => {
    await server.close();
    if (options.engine === undefined) await engine.close();
  });
  return {
    server,
    engine,
    log: engine.log,
    http: `http://127.0.0.1:${address.port}`,
    ws: `ws://127.0.0.1:${address.port}`,
  };
}

export interface Client {
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;
  readonly text: Y.Text;
  readonly map: Y.Map<unknown>;
}

/** A real y-websocket client in Node (the `ws` package as its WebSocket); destroyed after the test. */
export function connect(
  serverUrl: string,
  docId: string,
  options: { params?: Record<string, string>; protocols?: string[] } = {},
): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(serverUrl, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // Clients in one process would otherwise reach each other through BroadcastChannel, not the server.
    disableBc: true,
    maxBackoffTime: 200,
    ...options,
  });
  defer(() => {
    provider.destroy();
    doc.destroy();
  });
  return { doc, provider, text: doc.getText('text'), map: doc.getMap('state') };
}

/** Resolves once the provider has synced with the server. */
export function synced(client: Client): Promise<void> {
  if (client.provider.synced) return Promise.resolve();
  return within(
    new Promise<void>((resolve) => {
      const onSync = (state: boolean) => {
        if (!state) return;
        client.provider.off('sync', onSync);
        resolve();
      };
      client.provider.on('sync', onSync);
    }),
    'sync',
  );
}

/** Resolves once `check(doc)` holds, checking after each update of the document. */
export function until(doc: Y.Doc, check: (doc: Y.Doc) => boolean, what = 'document state'): Promise<void> {
  if (check(doc)) return Promise.resolve();
  return within(
    new Promise<void>((resolve) => {
      const onUpdate = () => {
        if (!check(doc)) return;
        doc.off('update', onUpdate);
        resolve();
      };
      doc.on('update', onUpdate);
    }),
    what,
  );
}

/** A raw WebSocket client that records what it receives, for speaking the protocol by hand. */
export interface RawClient {
  readonly ws: WebSocket;
  /** Every binary message received so far. */
  readonly received: Uint8Array[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the connection is open (rejects when it closes first). */
  readonly opened: Promise<void>;
  /** Sends bytes as one binary message. */
  send(bytes: Uint8Array | string): void;
  /** Resolves with the next received message of `type` (y-websocket message type, then sync type). */
  next(type: number, syncType?: number): Promise<Uint8Array>;
  /** Sends sync step 1 and waits for the answer: every message sent before it has been handled. */
  roundTrip(): Promise<void>;
}

export function rawClient(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {},
): RawClient {
  const ws = new WebSocket(url, options.protocols ?? [], {
    headers: options.headers ?? {},
    autoPong: options.autoPong ?? true,
  });
  const received: Uint8Array[] = [];
  const waiters: { type: number; syncType: number | undefined; resolve: (m: Uint8Array) => void }[] = [];
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer) => {
    const message = new Uint8Array(data);
    received.push(message);
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    const syncType = type === MessageType.sync ? decoding.readVarUint(decoder) : undefined;
    const index = waiters.findIndex(
      (w) => w.type === type && (w.syncType === undefined || w.syncType === syncType),
    );
    if (index !== -1) waiters.splice(index, 1)[0]?.resolve(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code) => reject(new Error(`closed with ${code} before opening`)));
  });
  opened.catch(() => undefined);
  defer(() => ws.terminate());
  const closedInTime = within(closed, 'close');
  // Only callers that wait for the close should see its timeout.
  closedInTime.catch(() => undefined);
  const client: RawClient = {
    ws,
    received,
    closed: closedInTime,
    opened,
    send(bytes) {
      ws.send(bytes, { binary: typeof bytes !== 'string' });
    },
    next(type, syncType) {
      return within(
        new Promise<Uint8Array>((resolve) => waiters.push({ type, syncType, resolve })),
        `message type ${type}`,
      );
    },
    async roundTrip() {
      const answer = client.next(MessageType.sync, 1);
      client.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
      await answer;
    },
  };
  return client;
}

/** Fetches JSON: the status, headers and parsed body. */
export async function fetchJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (metrics text, say): keep the text.
  }
  return { status: response.status, headers: response.headers, body };
}

/** PATCHes a document's state with a JSON Patch. */
export function patchState(
  base: string,
  docId: string,
  patch: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  return fetchJson(`${base}/api/docs/${encodeURIComponent(docId)}/state`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json', ...headers },
    body: typeof patch === 'string' ? patch : JSON.stringify(patch),
  });
}

export { within };
