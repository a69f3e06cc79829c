/**
 * The HTTP side: the route shape a ystate server mounts, JSON request bodies and errors, and an
 * event sink that frames AG-UI events with `@ag-ui/encoder` (SSE, or protobuf when the client asks
 * for it), honours backpressure, sends SSE keep-alive comments, and notices the client leaving.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BaseEvent } from '@ag-ui/core';
import { AGUI_MEDIA_TYPE, EventEncoder } from '@ag-ui/encoder';
import { ErrorCode, httpStatusOf, isYStateError, YStateError } from '@ystate/core';
import { encodeEvent } from './shared-events.js';

/** What a route's handler gets besides the request and response (the server fills it in). */
export interface RouteContext {
  /** The document named by `:docId` in the path (URL-decoded; may contain slashes). */
  docId: string;
  /** Whoever the server authenticated (opaque here). */
  principal: unknown;
  /** What the principal may do with the document (a server too old to say is taken as `read`). */
  access?: 'read' | 'write';
  /** Aborted when the client goes away or the server shuts down. */
  signal: AbortSignal;
}

/**
 * An HTTP route for a ystate server to mount beside its own API. The server authenticates the
 * request and checks `access` to the document before it calls `handler`.
 */
export interface ExtraRoute {
  method: 'GET' | 'POST';
  /** With one `:docId` segment, e.g. `/api/docs/:docId/events`. */
  path: string;
  access: 'read' | 'write';
  /** Answers the request; called once authentication and the `access` check passed. */
  handler(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void>;
}

/**
 * Reads a JSON request body of at most `maxBytes`: UNSUPPORTED_MEDIA_TYPE when it is declared as
 * something else, MESSAGE_TOO_LARGE when it is longer, INVALID_VALUE when it is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new YStateError({
      code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      message: 'send the body as application/json',
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.byteLength;
    if (size > maxBytes) {
      throw new YStateError({
        code: ErrorCode.MESSAGE_TOO_LARGE,
        message: `the request body exceeds ${maxBytes} bytes`,
      });
    }
    chunks.push(buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (cause) {
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'the request body is not JSON', cause });
  }
}

/**
 * Answers a `YStateError` as the documented JSON error body with its HTTP status, if the response
 * has not started; rethrows anything else (the server answers it as an internal error).
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (!isYStateError(error)) throw error;
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = JSON.stringify(error.toJSON());
  res.writeHead(httpStatusOf(error.code), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export interface EventSinkOptions {
  /** The request's Accept header: protobuf framing when it names the AG-UI protobuf type (default: SSE). */
  accept?: string | undefined;
  /** Interval of SSE keep-alive comments (default 15 s; 0 = none). */
  heartbeatMs?: number;
}

/** Writes AG-UI events to a response. A shared event (see `shareEvent`) is encoded once for all responses. */
export class EventSink {
  private readonly encoder: EventEncoder;
  private readonly protobuf: boolean;
  private readonly gone = new AbortController();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: EventSinkOptions = {},
  ) {
    // Protobuf only when the client names its media type: `*/*` (curl's and fetch's default) would
    // otherwise match it, and a client that accepts anything expects the SSE everyone documents.
    const protobuf = options.accept?.toLowerCase().includes(AGUI_MEDIA_TYPE) === true;
    this.encoder = new EventEncoder(protobuf ? { accept: AGUI_MEDIA_TYPE } : {});
    this.protobuf = !this.encoder.getContentType().startsWith('text/event-stream');
    res.once('close', () => {
      this.stopHeartbeat();
      if (!res.writableFinished) this.gone.abort();
    });
  }

  /** Aborted when the client went away before the response ended. */
  get clientGone(): AbortSignal {
    return this.gone.signal;
  }

  /** True while events can still be written. */
  get isOpen(): boolean {
    return !this.gone.signal.aborted && !this.res.writableEnded;
  }

  /** Sends the response head (200, the event stream's content type) and starts keep-alives. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const contentType = this.encoder.getContentType();
    this.res.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    const every = this.options.heartbeatMs ?? 15_000;
    if (every > 0 && contentType.startsWith('text/event-stream')) {
      this.heartbeat = setInterval(() => {
        if (this.isOpen && this.res.writableLength === 0) this.res.write(': keep-alive\n\n');
      }, every);
      this.heartbeat.unref();
    }
  }

  /** Writes one event; waits while the client is not reading. False once the client is gone. */
  async send(event: BaseEvent): Promise<boolean> {
    this.start();
    if (!this.isOpen) return false;
    if (this.res.write(encodeEvent(event, this.encoder, this.protobuf))) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.gone.signal.removeEventListener('abort', done);
        resolve();
      };
      this.res.once('drain', done);
      this.gone.signal.addEventListener('abort', done, { once: true });
    });
    return this.isOpen;
  }

  /** Ends the response. */
  end(): void {
    this.stopHeartbeat();
    if (!this.res.writableEnded) this.res.end();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
