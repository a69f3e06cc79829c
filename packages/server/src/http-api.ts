/**
 * The HTTP side: `/healthz`, `/readyz`, `/metrics`, the document routes (built-in and extra), and
 * static files. Every document route is authenticated and authorized before its handler runs;
 * errors are JSON with the code's status.
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Engine, ErrorCode, redactRequestUrl, YStateError } from '@ystate/core';
import type { Logger } from 'pino';
import type { Alerts } from './alerts.js';
import type { CorsPolicy } from './cors.js';
import { sendError, sendJson, toYStateError } from './http-util.js';
import type { ServerMetrics } from './metrics.js';
import type { Access, Principal } from './options.js';
import { type CompiledRoute, matchRoute } from './routes.js';

/** Decides who may use a document over HTTP (the server's auth, shared with WebSocket). */
export type HttpAuthorizer = (
  request: IncomingMessage,
  docId: string,
  query: URLSearchParams,
  needed: Access,
) => Promise<{ principal: Principal | undefined; access: Access }>;

export interface HttpContext {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly alerts: Alerts;
  readonly routes: readonly CompiledRoute[];
  readonly authorize: HttpAuthorizer;
  readonly staticDir: string | undefined;
  readonly readyTimeoutMs: number;
  /** True once the server is shutting down (readyz answers 503). */
  readonly isClosing: () => boolean;
  /** Cross-origin access, when configured. */
  readonly cors: CorsPolicy | undefined;
}

/** The docId `/readyz` asks the log about: any id works, it only has to answer. */
const READY_PROBE_DOC = 'ystate-readyz-probe';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export class HttpApi {
  private readonly requests = new Set<AbortController>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly ctx: HttpContext) {}

  /** Answers one request; never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const running = this.answer(req, res);
    this.running.add(running);
    void running.finally(() => this.running.delete(running));
    return running;
  }

  /** Aborts every request still running (streams end) and waits for their handlers to return. */
  async abortAll(): Promise<void> {
    for (const controller of this.requests) controller.abort();
    await Promise.allSettled(this.running);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let route = 'other';
    const controller = new AbortController();
    this.requests.add(controller);
    res.on('close', () => {
      controller.abort();
      this.requests.delete(controller);
      this.ctx.metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
    });
    try {
      if (this.ctx.cors?.handle(req, res)) {
        route = 'preflight';
        return;
      }
      if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/metrics') {
        route = pathname;
        if (method !== 'GET' && method !== 'HEAD') {
          this.fail(req, res, methodNotAllowed(['GET', 'HEAD']), { allow: 'GET, HEAD' });
          return;
        }
        if (pathname === '/healthz') sendJson(res, 200, { status: 'ok' });
        else if (pathname === '/readyz') await this.ready(res);
        else await this.metricsText(res);
        return;
      }
      const segments = pathname.split('/');
      const allowed = new Set<string>();
      // HEAD is GET without the body (Node's response drops it); a stream ends at its first write.
      const wanted = method === 'HEAD' ? 'GET' : method;
      if (method === 'HEAD') endHeadAtFirstWrite(res, controller);
      for (const compiled of this.ctx.routes) {
        const docId = matchRoute(compiled, segments);
        if (docId === undefined) continue;
        if (compiled.route.method !== wanted) {
          allowed.add(compiled.route.method);
          if (compiled.route.method === 'GET') allowed.add('HEAD');
          continue;
        }
        route = compiled.route.path;
        const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
        const { principal, access } = await this.ctx.authorize(req, docId, query, compiled.route.access);
        await compiled.route.handler(req, res, { docId, principal, access, signal: controller.signal });
        return;
      }
      if (allowed.size > 0) {
        this.fail(req, res, methodNotAllowed([...allowed]), { allow: [...allowed].join(', ') });
        return;
      }
      if (this.ctx.staticDir !== undefined && (method === 'GET' || method === 'HEAD')) {
        route = 'static';
        if (await this.serveStatic(this.ctx.staticDir, pathname, res)) return;
      }
      throw new YStateError({
        code: ErrorCode.ROUTE_NOT_FOUND,
        message: `no route for ${method} ${pathname}`,
      });
    } catch (thrown) {
      this.fail(req, res, thrown);
    }
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    thrown: unknown,
    headers: Record<string, string> = {},
  ): void {
    const log = this.ctx.logger.child({ method: req.method, url: redactRequestUrl(req.url ?? '/') });
    if (!req.complete && res.destroyed) {
      // The client went away, or requestTimeoutMs cut it, before its request was complete: a
      // client's doing, not a server fault, and there is nobody left to answer.
      this.ctx.metrics.errors.inc({ code: 'REQUEST_ABORTED' });
      log.debug({ err: thrown }, 'the request was cut before it was complete');
      return;
    }
    const error = toYStateError(thrown);
    this.ctx.metrics.errors.inc({ code: error.code });
    if (error.code === ErrorCode.INTERNAL_ERROR) log.error({ err: thrown }, 'request failed');
    else log.debug({ code: error.code }, error.message);
    if (res.headersSent) {
      // Too late for a status: cut the response so the client sees it is incomplete.
      res.destroy();
      return;
    }
    // The rest of an oversized body is not read: do not keep the connection.
    sendError(
      res,
      error,
      error.code === ErrorCode.MESSAGE_TOO_LARGE ? { ...headers, connection: 'close' } : headers,
    );
  }

  private async ready(res: ServerResponse): Promise<void> {
    const started = performance.now();
    let error: string | undefined;
    if (this.ctx.isClosing()) {
      error = 'shutting down';
    } else {
      try {
        await withTimeout(this.ctx.engine.log.head(READY_PROBE_DOC), this.ctx.readyTimeoutMs);
      } catch (cause) {
        error = cause instanceof Error ? cause.message : String(cause);
      }
    }
    const log = { ok: error === undefined, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    sendJson(res, error === undefined ? 200 : 503, {
      status: error === undefined ? 'ready' : 'not ready',
      log: error === undefined ? log : { ...log, error },
      alerts: this.ctx.alerts.active(),
    });
  }

  private async metricsText(res: ServerResponse): Promise<void> {
    const { registry } = this.ctx.metrics;
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  }

  /** Serves a file under `dir` (index.html for directories); false when there is none. */
  private async serveStatic(dir: string, pathname: string, res: ServerResponse): Promise<boolean> {
    const root = resolve(dir);
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    let file = resolve(root, `.${relative}`);
    if (file !== root && !file.startsWith(root + sep)) return false;
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) return false;
    res.writeHead(200, {
      'content-type': contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(info.size),
    });
    if (res.req.method === 'HEAD') {
      res.end();
      return true;
    }
    await pipeline(createReadStream(file), res);
    return true;
  }
}

/**
 * Ends a HEAD response when its handler starts writing a body (a stream would never end by itself);
 * the handler's later writes and its own `end` are ignored.
 */
function endHeadAtFirstWrite(res: ServerResponse, controller: AbortController): void {
  const end = res.end.bind(res);
  res.end = ((...args: Parameters<typeof res.end>) => {
    if (!res.writableEnded) end(...args);
    return res;
  }) as typeof res.end;
  res.write = ((..._args: unknown[]) => {
    if (!res.writableEnded) end();
    controller.abort();
    return true;
  }) as typeof res.write;
}

function methodNotAllowed(allowed: string[]): YStateError {
  return new YStateError({
    code: ErrorCode.METHOD_NOT_ALLOWED,
    message: `use ${allowed.join(' or ')}`,
  });
}

/** Resolves or rejects like `promise`, or rejects with LOG_UNAVAILABLE after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new YStateError({
            code: ErrorCode.LOG_UNAVAILABLE,
            message: `the log did not answer within ${ms} ms`,
          }),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
