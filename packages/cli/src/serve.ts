/**
 * `ystate serve`: opens the store, an Engine on it and the HTTP/WebSocket server with the AG-UI
 * routes and the demo page, and closes them in order (server, engine, store) so that every
 * acknowledged write is in the log before the process exits.
 */

import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { aguiRoutes } from '@ystate/agui';
import { Engine } from '@ystate/core';
import { createServer } from '@ystate/server';
import type { Logger } from 'pino';
import type { ServeConfig } from './serve-options.js';
import { openStore } from './store.js';

/** A started server: where it listens and how to stop it. */
export interface RunningServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, closes connections, flushes the engine, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** The demo page bundled by the build, beside this module in dist/. */
export const DEMO_DIR = fileURLToPath(new URL('./demo/', import.meta.url));

/** Starts serving per `config`; resolves once the port is bound. */
export async function startServe(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  const store = await openStore(config, logger);
  logger.info({ store: store.description }, `store: ${store.description}`);
  const engine = new Engine({
    log: store.log,
    ...(store.bus ? { bus: store.bus } : {}),
    nodeId: `${hostname()}-${process.pid}`,
    onError: (error, operation, docId) =>
      logger.error({ err: error, operation, docId }, 'background failure'),
  });
  const staticDir = existsSync(DEMO_DIR) ? DEMO_DIR : undefined;
  if (staticDir === undefined)
    logger.warn({ dir: DEMO_DIR }, 'the demo page is not built; / will not serve it');

  let app: ReturnType<typeof createServer>;
  try {
    app = createServer({
      engine,
      ...(store.bus ? { bus: store.bus } : {}),
      routes: aguiRoutes(engine),
      ...(config.authSecret !== undefined ? { auth: { secret: config.authSecret } } : {}),
      ...(staticDir !== undefined ? { staticDir } : {}),
      ...(config.limits !== undefined ? { limits: config.limits } : {}),
      ...(config.alerts !== undefined ? { alerts: config.alerts } : {}),
      logger,
    });
    await app.listen(config.port, config.host);
  } catch (error) {
    await engine.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${displayHost(config.host)}:${port}`;
  const demo = staticDir === undefined ? '' : ` (demo page: ${url}/, another document: ${url}/#<docId>)`;
  logger.info({ url, host: config.host, port }, `ystate listening on ${url}${demo}`);
  // The server itself warns that auth is off; louder when every interface listens.
  if (config.authSecret === undefined && isWildcard(config.host)) {
    logger.warn(
      `every interface (${config.host}) is listening without auth: set --auth-secret or YSTATE_AUTH_SECRET`,
    );
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        await app.close();
        await engine.close();
        await store.close();
      })();
      return closing;
    },
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** A host to put in a URL someone can open: wildcards become localhost, IPv6 gets brackets. */
function displayHost(host: string): string {
  if (isWildcard(host)) return 'localhost';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
