/**
 * `ystate serve`: opens the store, an Engine on it and the HTTP/WebSocket server with the AG-UI
 * routes and the demo page, schedules backups when asked, and closes them in order (backups,
 * server, engine, store) so that every acknowledged write is in the log before the process exits.
 */

import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Engine } from '@ystate/core';
import { createServer, timeAppends } from '@ystate/server';
import type { Logger } from 'pino';
import { lazyAguiRoutes } from './agui-routes.js';
import { scheduleBackups } from './backup-schedule.js';
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
  const store = await openStore(config, logger, {
    fsync: config.fsync,
    ...(config.fsyncIntervalMs !== undefined ? { fsyncIntervalMs: config.fsyncIntervalMs } : {}),
  });
  logger.info({ store: store.description }, `store: ${store.description}`);
  const engine = new Engine({
    // Timed so that the server's append-latency metric and alert see every append.
    log: timeAppends(store.log),
    ...(store.bus ? { bus: store.bus } : {}),
    nodeId: `${hostname()}-${process.pid}`,
    ...(config.maxDocumentBytes !== undefined ? { maxDocumentBytes: config.maxDocumentBytes } : {}),
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
      // @ystate/agui is imported by the first AG-UI request (a server without one does not pay for it).
      routes: lazyAguiRoutes(engine),
      ...(config.authSecret !== undefined
        ? {
            auth: {
              secret: config.authSecret,
              ...(config.authMaxTokenAge !== undefined ? { maxTokenAge: config.authMaxTokenAge } : {}),
            },
          }
        : {}),
      ...(staticDir !== undefined ? { staticDir } : {}),
      ...(config.limits !== undefined ? { limits: config.limits } : {}),
      ...(config.alerts !== undefined ? { alerts: config.alerts } : {}),
      ...(config.cors !== undefined ? { cors: config.cors } : {}),
      ...(config.webhooks !== undefined ? { webhooks: { ...config.webhooks, store: store.deliveries } } : {}),
      logger,
    });
    await app.listen(config.port, config.host);
  } catch (error) {
    await engine.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }

  const backups =
    config.backupEvery !== undefined && config.backupDir !== undefined
      ? scheduleBackups(store.log, {
          everyMs: config.backupEvery,
          dir: config.backupDir,
          ...(config.backupKeep !== undefined ? { keep: config.backupKeep } : {}),
          logger,
        })
      : undefined;
  // Logged before the URL line, which tools read as "ready".
  if (backups !== undefined) {
    logger.info(
      { backupDir: config.backupDir, everyMs: config.backupEvery, keep: config.backupKeep ?? null },
      `scheduled backups every ${formatInterval(config.backupEvery ?? 0)} into ${config.backupDir}` +
        (config.backupKeep === undefined ? ' (keeping all)' : ` (keeping the newest ${config.backupKeep})`),
    );
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
        // A backup in progress is abandoned rather than waited for: it must not hold up a shutdown.
        await backups?.stop();
        await app.close();
        await engine.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** 90000 → `1m30s`, 3600000 → `1h`. */
function formatInterval(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
  }
  return parts.join('') || `${ms}ms`;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** A host to put in a URL someone can open: wildcards become localhost, IPv6 gets brackets. */
function displayHost(host: string): string {
  if (isWildcard(host)) return 'localhost';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
