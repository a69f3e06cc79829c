/**
 * Test harness: a real ystate server (the server package's `createServer` with the AG-UI routes,
 * over an engine on the memory log) on a free port, JWTs for its auth, and a TCP proxy that cuts
 * the connections through it at random points (to break event streams mid-frame).
 */

import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { aguiRoutes } from '@ystate/agui';
import { Engine, type EngineOptions, MemoryUpdateLog } from '@ystate/core';
import { type ChangePayload, createServer, type ServerOptions } from '@ystate/server';
import { SignJWT } from 'jose';
import { pino } from 'pino';

/** A change received over HTTP (a PATCH). */
export type HttpChange = Extract<ChangePayload, { transport: 'http' }>;

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  engine: Engine;
  /** The HTTP changes the server received (their `baseSeq` is the If-Match sent). */
  changes: HttpChange[];
  close(): Promise<void>;
}

export const SECRET = 'a-test-secret-of-reasonable-length';

/** Starts a server on 127.0.0.1 with a free port. */
export async function startServer(
  options: { engine?: Partial<EngineOptions>; server?: Partial<ServerOptions> } = {},
): Promise<TestServer> {
  const engine = new Engine({
    log: new MemoryUpdateLog(),
    nodeId: 'test',
    idleTimeoutMs: 60_000,
    ...options.engine,
  });
  const changes: HttpChange[] = [];
  const server = createServer({
    engine,
    logger: pino({ level: 'silent' }),
    routes: aguiRoutes(engine, { heartbeatMs: 0 }),
    hooks: {
      onChange: (change) => {
        if (change.transport === 'http') changes.push(change);
      },
    },
    ...options.server,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    changes,
    async close() {
      await server.close();
      await engine.close();
    },
  };
}

/** A JWT signed with SECRET granting `docs`. */
export function token(docs: Record<string, 'read' | 'write'>, sub = 'alice'): Promise<string> {
  return new SignJWT({ ystate: { docs } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

export interface CuttingProxy {
  url: string;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  /** Connections it cut. */
  readonly cuts: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `target` that cuts each connection (both sides, at once) after the server has sent
 * a random number of bytes between `minBytes` and `maxBytes` through it: mid-header, mid-event or
 * between events. `random` decides (a seeded one makes runs reproducible).
 */
export async function cuttingProxy(
  target: string,
  options: { minBytes: number; maxBytes: number; random: () => number },
): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  let cuts = 0;
  const server = createTcpServer((client) => {
    connections++;
    const budget = options.minBytes + Math.floor(options.random() * (options.maxBytes - options.minBytes));
    let sent = 0;
    const upstream = connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      const room = budget - sent;
      if (chunk.byteLength < room) {
        sent += chunk.byteLength;
        client.write(chunk);
        return;
      }
      client.write(chunk.subarray(0, room), () => {
        cuts++;
        cut();
      });
      sent = budget;
      upstream.pause();
    });
    for (const socket of [client, upstream]) {
      socket.on('error', cut);
      socket.on('close', () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A small seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
