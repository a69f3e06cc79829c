/**
 * Cross-origin access (CORS) for the HTTP API, its event streams and `/agui`: which web origins may
 * call the server from a browser, answered preflights, and the response headers a page on another
 * origin needs to read (`ETag`, `X-Ystate-Seq`). Off unless origins are configured. CORS only tells
 * browsers what pages may read; it is not access control (tokens are): a refused origin gets no CORS
 * headers, and its browser withholds the answer from the page.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, YStateError } from '@ystate/core';
import { sendError } from './http-util.js';

/** Which origins may use the server from a browser. */
export interface CorsOptions {
  /**
   * Allowed origins (`https://app.example.com`, scheme + host + port, as browsers send them), or
   * `'*'` for any. An empty list allows none.
   */
  origins: '*' | readonly string[];
  /**
   * Let pages send credentials (cookies, HTTP auth) and read the answers: `Access-Control-Allow-Credentials`.
   * Refused with `'*'` (browsers ignore it there): list the origins. Bearer tokens in `Authorization` need no credentials.
   */
  credentials?: boolean;
  /** How long a browser may cache a preflight's answer, in seconds (default 600). */
  maxAgeSeconds?: number;
}

/** The request headers a page may send: auth, JSON Patch bodies, base versions, stream resumes. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'If-Match', 'Last-Event-ID', 'Accept'];
/** The response headers a page may read besides the safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['ETag', 'X-Ystate-Seq'];

/** A configured CORS policy. */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly credentials: boolean;
  private readonly maxAge: string;

  constructor(
    options: CorsOptions,
    /** The methods the server's routes answer (OPTIONS is added). */
    private readonly methods: readonly string[],
  ) {
    const list = options.origins === '*' ? ['*'] : options.origins;
    this.any = list.includes('*');
    this.origins = new Set(list.filter((origin) => origin !== '*').map(normalizeOrigin));
    this.credentials = options.credentials ?? false;
    if (this.any && this.credentials) {
      throw new YStateError({
        code: ErrorCode.INVALID_CONFIG,
        message: 'CORS credentials cannot be allowed for any origin ("*"): list the origins',
      });
    }
    this.maxAge = String(options.maxAgeSeconds ?? 600);
  }

  /** True when a page on `origin` may read the server's answers. */
  allows(origin: string): boolean {
    return this.any || this.origins.has(normalizeOrigin(origin));
  }

  /**
   * Adds the CORS headers to `res` when the request comes from an allowed origin, and answers a
   * preflight (`OPTIONS` with `Access-Control-Request-Method`): 204 with what may be sent, or 403
   * FORBIDDEN for an origin not allowed. True when the request was answered.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    res.setHeader('vary', 'Origin');
    if (origin === undefined) return false;
    if (!this.allows(origin)) {
      if (!preflight) return false;
      sendError(
        res,
        new YStateError({
          code: ErrorCode.FORBIDDEN,
          message: `the origin ${origin} may not use this server`,
        }),
      );
      return true;
    }
    res.setHeader('access-control-allow-origin', this.any && !this.credentials ? '*' : origin);
    if (this.credentials) res.setHeader('access-control-allow-credentials', 'true');
    if (!preflight) {
      res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
      return false;
    }
    res.writeHead(204, {
      'access-control-allow-methods': [...new Set([...this.methods, 'OPTIONS'])].join(', '),
      'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
      'access-control-max-age': this.maxAge,
      'content-length': '0',
    });
    res.end();
    return true;
  }
}

/** `https://App.example.com/` → `https://app.example.com` (browsers send origins lower-case, without a path). */
function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
