/** `createServer`: the y-websocket endpoint, the HTTP API, auth, metrics and health over one Engine. */

import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, isYStateError, logRedaction, YStateError } from '@ystate/core';
import { pino } from 'pino';
import { z } from 'zod';
import { Alerts } from './alerts.js';
import {
  accessOf,
  createAuthenticator,
  expiryOf,
  forbidden,
  type TokenExpiry,
  tokenOf,
  unauthorized,
} from './auth.js';
import { CorsPolicy } from './cors.js';
import { HttpApi } from './http-api.js';
import { ServerMetrics } from './metrics.js';
import type { Access, Principal, ServerOptions, Transport } from './options.js';
import { compileRoute, documentRoutes } from './routes.js';
import { isTimedUpdateLog } from './timed-log.js';
import { versionRoutes } from './versions-api.js';
import { WebhookDelivery } from './webhooks.js';
import { WebSocketEndpoint } from './websocket.js';

/** A running (or ready to run) ystate server. */
export interface YStateServer {
  /** The underlying Node HTTP server (WebSocket upgrades are handled on it too). */
  readonly server: Server;
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Shuts down gracefully: stops accepting, flushes the engine, closes WebSocket connections with
   * 1012 (clients reconnect, to another node), ends streams. The engine stays open: it is the caller's.
   */
  close(): Promise<void>;
}

const positive = z.number().int().positive();
const limitsSchema = z
  .object({
    maxMessageBytes: positive.default(4 * 1024 * 1024),
    messagesPerSecond: positive.default(300),
    maxBufferedBytes: positive.default(16 * 1024 * 1024),
    pingIntervalMs: positive.default(30_000),
    maxBodyBytes: positive.default(1024 * 1024),
    headersTimeoutMs: positive.default(10_000),
    requestTimeoutMs: positive.default(30_000),
    upgradeTimeoutMs: positive.default(10_000),
  })
  .refine((limits) => limits.headersTimeoutMs <= limits.requestTimeoutMs, {
    path: ['requestTimeoutMs'],
    message: 'must be at least headersTimeoutMs',
  });

/**
 * How often Node checks the header and request timeouts of open sockets: a slow socket is closed
 * at most this long after its timeout.
 */
const TIMEOUT_CHECK_MS = 1000;

/** How long `close` waits for HTTP connections to end before cutting them. */
const CLOSE_HTTP_GRACE_MS = 2000;

/** Creates a server over `options.engine`; call `listen` to start it. */
export function createServer(options: ServerOptions): YStateServer {
  const { engine, bus } = options;
  const hooks = options.hooks ?? {};
  const parsedLimits = limitsSchema.safeParse(options.limits ?? {});
  if (!parsedLimits.success) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `invalid limits: ${parsedLimits.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    });
  }
  const limits = parsedLimits.data;
  const authenticator = options.auth === undefined ? undefined : createAuthenticator(options.auth);
  const extraRoutes = (options.routes ?? []).map(compileRoute);
  const logger = options.logger ?? pino({ name: 'ystate-server', redact: logRedaction });
  const metrics = new ServerMetrics(options.metrics, () => engine.registry.list().length);
  const alerts = new Alerts(options.alerts ?? {}, logger);
  const routes = [
    ...documentRoutes({ engine, hooks, metrics, maxBodyBytes: limits.maxBodyBytes }).map(compileRoute),
    ...versionRoutes({ engine, hooks, metrics, maxBodyBytes: limits.maxBodyBytes }).map(compileRoute),
    ...extraRoutes,
  ];
  const cors =
    options.cors === undefined
      ? undefined
      : new CorsPolicy(options.cors, ['GET', 'HEAD', ...routes.map(({ route }) => route.method)]);
  const webhooks =
    options.webhooks === undefined || options.webhooks.subscriptions.length === 0
      ? undefined
      : new WebhookDelivery(options.webhooks, { engine, metrics, logger });
  const stopGapCount = engine.onGapFilled((_docId, entries) => metrics.busGaps.inc(entries));
  // Per-document failures stay with their document; each is counted by its code.
  const stopErrorCount = engine.onBackgroundError((error) =>
    metrics.errors.inc({ code: isYStateError(error) ? error.code : ErrorCode.INTERNAL_ERROR }),
  );

  /**
   * Who is calling, what they may do with `docId`, and when their token stops being accepted;
   * UNAUTHORIZED / FORBIDDEN otherwise.
   */
  async function authorize(
    request: Parameters<typeof tokenOf>[0],
    transport: Transport,
    docId: string,
    query: URLSearchParams,
    needed: Access,
  ): Promise<{ principal: Principal | undefined; access: Access; expiry: TokenExpiry | undefined }> {
    const token = tokenOf(request, query);
    let principal: Principal | undefined;
    if (authenticator !== undefined && token !== undefined) principal = await authenticator.verify(token);
    if (hooks.onAuthenticate) {
      const chosen = await hooks.onAuthenticate({ request, transport, docId, token, principal });
      if (chosen !== undefined) principal = chosen;
    }
    if (principal === undefined) {
      if (authenticator !== undefined) throw unauthorized('a token is required');
      return { principal, access: 'write', expiry: undefined };
    }
    // The maximum age is the token's: a principal onAuthenticate made without one has none.
    const now = Date.now();
    const expiry = expiryOf(principal, token === undefined ? undefined : options.auth?.maxTokenAge, now);
    if (expiry !== undefined && expiry.at <= now) throw unauthorized(expiry.message);
    const access = accessOf(principal, docId);
    if (access === undefined) throw forbidden(`the token grants no access to "${docId}"`);
    if (needed === 'write' && access !== 'write')
      throw forbidden(`the token grants only read access to "${docId}"`);
    return { principal, access, expiry };
  }

  let stopAppendTiming: (() => void) | undefined;
  if (isTimedUpdateLog(engine.log)) {
    stopAppendTiming = engine.log.onAppendTiming((_docId, _count, ms) => {
      metrics.appendLatency.observe(ms / 1000);
      alerts.observe('appendLatencyMs', ms);
    });
  }
  let closing: Promise<void> | undefined;
  const websocket = new WebSocketEndpoint({
    engine,
    bus,
    hooks,
    metrics,
    alerts,
    logger,
    limits,
    authorize: (request, docId, query) => authorize(request, 'websocket', docId, query, 'read'),
    // Without the log's own timings, the append alert watches the update latency (which includes the append).
    onUpdateLatency: (ms) => {
      if (stopAppendTiming === undefined) alerts.observe('appendLatencyMs', ms);
    },
  });
  const api = new HttpApi({
    engine,
    logger,
    metrics,
    alerts,
    routes,
    authorize: (request, docId, query, needed) => authorize(request, 'http', docId, query, needed),
    staticDir: options.staticDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 2000,
    isClosing: () => closing !== undefined,
    cors,
  });

  const server = createHttpServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    (req, res) => {
      api.handle(req, res).catch((error: unknown) => logger.error({ err: error }, 'request handler failed'));
    },
  );
  server.on('upgrade', (req, socket, head: Buffer) => {
    websocket.handleUpgrade(req, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  });

  return {
    server,
    listen(port, host) {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        const onListening = () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info({ address: address.address, port: address.port }, 'ystate server listening');
          if (authenticator === undefined) {
            logger.warn(
              hooks.onAuthenticate
                ? 'no token verification configured (auth): onAuthenticate alone decides who may read and write'
                : 'auth is off: anyone who can reach this server can read and write every document',
            );
          }
          if (webhooks === undefined) resolve(address);
          // The first round takes the leases it can, so changes from now on are delivered.
          else webhooks.start().then(() => resolve(address), reject);
        };
        if (host === undefined) server.listen(port, onListening);
        else server.listen(port, host, onListening);
      });
    },
    close() {
      closing ??= (async () => {
        logger.info('shutting down');
        await webhooks?.close();
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await websocket.close(async () => {
          try {
            await engine.flush();
          } catch (error) {
            logger.error({ err: error }, 'flushing the engine failed');
          }
        });
        await api.abortAll();
        // Connections whose last response just ended become idle on the next turn.
        await new Promise((resolve) => setImmediate(resolve));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_HTTP_GRACE_MS);
        await httpClosed;
        clearTimeout(grace);
        stopAppendTiming?.();
        stopGapCount();
        stopErrorCount();
        metrics.close();
        logger.info('shut down');
      })();
      return closing;
    },
  };
}
