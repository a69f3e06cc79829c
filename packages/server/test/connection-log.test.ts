/**
 * What a connection costs when nothing happens: its logger is made only when it logs (the lines
 * are the same), and closing the server waits for every connection without a promise per connection.
 */

import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { rawClient, startServer, within } from './helpers.js';

interface Line {
  msg: string;
  docId?: string;
  conn?: string;
  [key: string]: unknown;
}

/** A pino logger at `level` whose records land in `lines`. */
function capturingLogger(level: string) {
  const lines: Line[] = [];
  const waiters: { msg: string; resolve: () => void }[] = [];
  const logger = pino(
    { level },
    {
      write(text: string) {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        for (const waiter of waiters.splice(0)) {
          if (waiter.msg === line.msg) waiter.resolve();
          else waiters.push(waiter);
        }
      },
    },
  );
  const logged = (msg: string) =>
    lines.some((line) => line.msg === msg)
      ? Promise.resolve()
      : within(new Promise<void>((resolve) => waiters.push({ msg, resolve })), msg);
  return { logger, lines, logged };
}

describe('connection logging', () => {
  it('at debug: connected and disconnected carry the docId and the connection id', async () => {
    const { logger, lines, logged } = capturingLogger('debug');
    const { ws } = await startServer({ logger });
    const client = rawClient(`${ws}/doc-a`);
    await client.opened;
    await client.roundTrip();
    client.ws.close();
    await logged('disconnected');
    const connected = lines.find((line) => line.msg === 'connected');
    const disconnected = lines.find((line) => line.msg === 'disconnected');
    expect(connected).toMatchObject({ docId: 'doc-a', access: 'write', level: 20 });
    expect(typeof connected?.conn).toBe('string');
    expect(disconnected).toMatchObject({ docId: 'doc-a', conn: connected?.conn, code: 1005 });

    // A refused connection (no document in the URL) has no docId.
    const refused = rawClient(`${ws}/`);
    expect((await refused.closed).code).toBe(4400);
    await logged('closing: the URL path names no document');
    const closing = lines.find((line) => line.msg === 'closing: the URL path names no document');
    expect(closing?.conn).toEqual(expect.any(String));
    expect(closing).not.toHaveProperty('docId');
  });

  it('at info: an idle connection makes no logger of its own', async () => {
    const { logger } = capturingLogger('info');
    const child = vi.spyOn(logger, 'child');
    const { ws } = await startServer({ logger });
    const clients = [rawClient(`${ws}/doc-b`), rawClient(`${ws}/doc-b`), rawClient(`${ws}/doc-c`)];
    for (const client of clients) {
      await client.opened;
      await client.roundTrip();
    }
    for (const client of clients) client.ws.close();
    await Promise.all(clients.map((client) => client.closed));
    // The rooms' loggers only.
    const bindings = child.mock.calls.map(([binding]) => binding);
    expect(bindings.every((binding) => !('conn' in binding))).toBe(true);
  });
});

describe('close()', () => {
  it('closes every connection with 1012 and waits for them all', async () => {
    const { server, ws } = await startServer();
    const clients = Array.from({ length: 5 }, (_, i) => rawClient(`${ws}/doc-${i % 2}`));
    for (const client of clients) {
      await client.opened;
      await client.roundTrip();
    }
    await server.close();
    for (const client of clients)
      expect(await client.closed).toEqual({ code: 1012, reason: 'SERVICE_RESTART' });
  });

  it('returns at once without connections', async () => {
    const { server } = await startServer();
    await within(server.close(), 'close');
  });
});
