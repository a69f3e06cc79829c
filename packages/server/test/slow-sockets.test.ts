/**
 * Slow sockets: dripped headers, half-finished upgrades and bodies that never finish are closed
 * within their timeout (plus the one-second check), while a normal client keeps being served.
 */

import { request } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { Engine, ErrorCode, MemoryUpdateLog } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { createServer } from '../src/index.js';
import {
  capturingLogger,
  connect,
  fetchJson,
  patchState,
  startServer,
  synced,
  until,
  within,
} from './helpers.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const UPGRADE_TIMEOUT_MS = 1000;
/** Node checks the timeouts every second; the slack is room for a loaded machine (client and server share one process). */
const CHECK_MS = 1000;
const SLACK_MS = 3000;

type Kind = 'silent' | 'dripped headers' | 'dripped upgrade' | 'unfinished body' | 'stalled upgrade';

/** What each kind of slow socket sends at once, what it drips after, and the timeout that must close it. */
const KINDS: Record<Kind, { start: string; drip: string; timeoutMs: number }> = {
  silent: { start: '', drip: '', timeoutMs: HEADERS_TIMEOUT_MS },
  'dripped headers': {
    start: 'GET /healthz HTTP/1.1\r\nHost: x\r\n',
    drip: `X-Padding: ${'a'.repeat(200)}\r\n`,
    timeoutMs: HEADERS_TIMEOUT_MS,
  },
  'dripped upgrade': {
    start: 'GET /doc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
    drip: `Sec-WebSocket-Key: ${'a'.repeat(200)}\r\n`,
    timeoutMs: HEADERS_TIMEOUT_MS,
  },
  'unfinished body': {
    start:
      'PATCH /api/docs/doc/state HTTP/1.1\r\nHost: x\r\nContent-Type: application/json-patch+json\r\nContent-Length: 1000\r\n\r\n[',
    drip: ' '.repeat(500),
    timeoutMs: REQUEST_TIMEOUT_MS,
  },
  // A complete upgrade request whose authorization never finishes (an onConnect hook that hangs).
  'stalled upgrade': {
    start:
      'GET /stalled HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    drip: '',
    timeoutMs: UPGRADE_TIMEOUT_MS,
  },
};

interface SlowSocket {
  readonly kind: Kind;
  readonly socket: Socket;
  readonly opened: number;
  /** Resolves with how long the socket stayed open and what the server answered. */
  readonly closed: Promise<{ ms: number; answer: string }>;
  dripped: number;
}

function openSlowSocket(port: number, kind: Kind): SlowSocket {
  const socket = connectTcp(port, '127.0.0.1');
  const opened = performance.now();
  let answer = '';
  socket.on('data', (data: Buffer) => {
    answer += data.toString('latin1');
  });
  socket.on('error', () => undefined);
  socket.setNoDelay(true);
  const { start } = KINDS[kind];
  if (start !== '') socket.write(start);
  const closed = new Promise<{ ms: number; answer: string }>((resolve) => {
    socket.on('close', () => resolve({ ms: performance.now() - opened, answer }));
  });
  return { kind, socket, opened, closed, dripped: 0 };
}

describe('slow sockets', () => {
  it('200 slow sockets are closed within their timeouts while a normal client is served', async () => {
    const { logger, lines } = capturingLogger();
    const { http, ws } = await startServer({
      logger,
      limits: {
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        upgradeTimeoutMs: UPGRADE_TIMEOUT_MS,
      },
      hooks: {
        onConnect: ({ docId }) => (docId === 'stalled' ? new Promise<void>(() => undefined) : undefined),
      },
    });
    const port = Number(new URL(http).port);
    const kinds = Object.keys(KINDS) as Kind[];
    const slow = Array.from({ length: 200 }, (_, i) => openSlowSocket(port, kinds[i % kinds.length] as Kind));

    // One byte per socket every 50 ms: no drip ever finishes within the bound, and the loop ends
    // by itself once every drip is spent or every socket closed.
    const drip = setInterval(() => {
      let active = 0;
      for (const s of slow) {
        const text = KINDS[s.kind].drip;
        if (s.socket.destroyed || s.dripped >= text.length) continue;
        s.socket.write(text[s.dripped++] as string);
        active++;
      }
      if (active === 0) clearInterval(drip);
    }, 50);

    // Meanwhile a normal user edits over WebSocket and HTTP, and every request is answered, until
    // every slow socket is closed (or the longest bound passed: then the test fails).
    const closed = within(
      Promise.all(slow.map((s) => s.closed)),
      'every slow socket closed',
      REQUEST_TIMEOUT_MS + CHECK_MS + SLACK_MS,
    );
    let done = false;
    void closed.then(
      () => (done = true),
      () => (done = true),
    );
    const client = connect(ws, 'doc');
    await synced(client);
    let served = 0;
    while (!done) {
      client.map.set('n', served);
      const answer = await patchState(http, 'doc', [{ op: 'add', path: '/http', value: served }]);
      expect(answer.status).toBe(200);
      served++;
    }
    await until(client.doc, () => client.map.get('http') === served - 1, 'the client sees the last patch');
    const results = await closed;
    clearInterval(drip);
    expect(served).toBeGreaterThan(0);
    for (const [i, { ms, answer }] of results.entries()) {
      const { kind } = slow[i] as SlowSocket;
      const { timeoutMs } = KINDS[kind];
      // Closed by its timeout (not earlier, for another reason), and within the documented bound.
      expect({ kind, ms, answer }).toMatchObject({ kind, answer: expect.stringMatching(/^HTTP\/1\.1 408 /) });
      expect(ms, kind).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(ms, kind).toBeLessThanOrEqual(timeoutMs + CHECK_MS + SLACK_MS);
    }
    // Counted, and no server fault logged: these are the clients' doing.
    const metrics = (await fetchJson(`${http}/metrics`)).body as string;
    expect(metrics).toMatch(/^ystate_errors_total\{code="UPGRADE_TIMEOUT"\} 40$/m);
    expect(metrics).toMatch(/^ystate_errors_total\{code="REQUEST_ABORTED"\} 40$/m);
    expect(lines.map((line) => JSON.parse(line)).filter((record) => record.level >= 50)).toEqual([]);
  });

  it('refuses a requestTimeoutMs below headersTimeoutMs (INVALID_CONFIG)', () => {
    const engine = new Engine({ log: new MemoryUpdateLog() });
    expect(() =>
      createServer({ engine, limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG }));
  });

  it('a body the server stops reading (over maxBodyBytes, chunked) is still answered 413, not counted as cut', async () => {
    const { http } = await startServer({ limits: { maxBodyBytes: 100 } });
    const { hostname, port } = new URL(http);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: 'PATCH',
          path: '/api/docs/doc/state',
          headers: { 'content-type': 'application/json-patch+json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      // More than the limit, and the body is never finished.
      req.write('['.padEnd(200, ' '));
    });
    expect(status).toBe(413);
    const metrics = (await fetchJson(`${http}/metrics`)).body as string;
    expect(metrics).toMatch(/^ystate_errors_total\{code="MESSAGE_TOO_LARGE"\} 1$/m);
    expect(metrics).not.toContain('REQUEST_ABORTED');
  });

  it('an answer that takes longer than requestTimeoutMs (a stream) is not cut: the bound is on the request', async () => {
    const streamMs = 500 + CHECK_MS + 500;
    const { http } = await startServer({
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 500 },
      routes: [
        {
          method: 'GET',
          path: '/api/docs/:docId/stream',
          access: 'read',
          async handler(_req, res) {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.write('first ');
            await new Promise((resolve) => setTimeout(resolve, streamMs));
            res.end('last');
          },
        },
      ],
    });
    const started = performance.now();
    const answer = await fetch(`${http}/api/docs/doc/stream`);
    expect(await answer.text()).toBe('first last');
    expect(performance.now() - started).toBeGreaterThanOrEqual(streamMs - 50);
  });
});
