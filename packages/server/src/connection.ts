/**
 * One WebSocket client of one document: its identity and access, its rate limit, its message queue
 * (messages are handled one after another, in arrival order), sending with a bound on what may sit
 * in the send buffer, and closing with a code.
 */

import { randomBytes } from 'node:crypto';
import { closeCodeOf, ErrorCode, httpStatusOf, type YStateError } from '@ystate/core';
import type { Level, Logger } from 'pino';
import { WebSocket } from 'ws';
import type { TokenExpiry } from './auth.js';
import { toYStateError } from './http-util.js';
import type { ServerMetrics } from './metrics.js';
import type { Access, Principal } from './options.js';
import { encodePermissionDenied } from './protocol.js';
import type { Room } from './room.js';

/** How long a peer has to answer a close frame before its socket is cut. */
const CLOSE_GRACE_MS = 1000;

/** The longest delay `setTimeout` takes (about 24.8 days); a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Close code when the server shuts down: "service restart", clients reconnect (to another node). */
export const CLOSE_SERVICE_RESTART = 1012;

export interface ConnectionLimits {
  readonly messagesPerSecond: number;
  readonly maxBufferedBytes: number;
}

/** Who a connection is and what it may do. */
export interface ConnectionIdentity {
  readonly id: string;
  readonly ws: WebSocket;
  readonly docId: string;
  readonly principal: Principal | undefined;
  readonly access: Access;
  readonly origin: string;
  /** The server's logger: the connection's own (`{ docId, conn }`) is made from it when first used. */
  readonly logger: Logger;
}

/** The queue of a connection with nothing in it (shared: an idle connection holds no promise of its own). */
const IDLE: Promise<void> = Promise.resolve();

export class Connection {
  /** False between a ping and its pong. */
  alive = true;
  /** Set once the server or the client started closing; nothing more is handled or sent. */
  closed = false;
  /** The code this server closed with (undefined when the client closed first). */
  closeCode: number | undefined;
  closeReason = '';
  room: Room | undefined;
  /** Awareness client ids this connection set, removed when it leaves (made with the first one). */
  controlledClients: Set<number> | undefined;
  private tokens: number;
  private refilledAt = performance.now();
  private queue: Promise<void> = IDLE;
  private killTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private childLog: Logger | undefined;

  readonly id: string;
  readonly ws: WebSocket;
  readonly docId: string;
  readonly principal: Principal | undefined;
  readonly access: Access;
  /** The origin its changes are logged with: `<principal id>#<connection id>`. */
  readonly origin: string;
  private readonly logger: Logger;

  constructor(
    identity: ConnectionIdentity,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ServerMetrics,
  ) {
    this.id = identity.id;
    this.ws = identity.ws;
    this.docId = identity.docId;
    this.principal = identity.principal;
    this.access = identity.access;
    this.origin = identity.origin;
    this.logger = identity.logger;
    this.tokens = limits.messagesPerSecond;
  }

  /**
   * The connection's logger, with `docId` and `conn` bound (only `conn` for a refused connection,
   * which has no docId). Made when first used: most connections never log anything of their own.
   */
  get log(): Logger {
    this.childLog ??= this.logger.child(
      this.docId === '' ? { conn: this.id } : { docId: this.docId, conn: this.id },
    );
    return this.childLog;
  }

  /** Whether a record at `level` would be written (checked before making the logger for a debug line). */
  logs(level: Level): boolean {
    return this.logger.isLevelEnabled(level);
  }

  /** A new connection id (random, so origins are unique across nodes). */
  static newId(): string {
    return randomBytes(6).toString('base64url');
  }

  /** Takes one message from the rate limit (a token bucket holding one second's worth); false when over it. */
  take(): boolean {
    const now = performance.now();
    const rate = this.limits.messagesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Runs `task` after the tasks queued before it; a failure closes the connection with the error's code. */
  enqueue(task: () => void | Promise<void>): void {
    const queued: Promise<void> = this.queue.then(async () => {
      try {
        if (!this.closed) await task();
      } catch (error) {
        this.fail(toYStateError(error));
      } finally {
        // The last task done: let go of the chain.
        if (this.queue === queued) this.queue = IDLE;
      }
    });
    this.queue = queued;
  }

  /** Sends a message; a client whose send buffer is over the bound is disconnected (SLOW_CONSUMER). */
  send(message: Uint8Array): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.fail({
        code: ErrorCode.SLOW_CONSUMER,
        message: `send buffer over ${this.limits.maxBufferedBytes} bytes`,
      });
      return false;
    }
    this.ws.send(message, { binary: true }, (error) => {
      if (error && this.logs('debug')) this.log.debug({ err: error }, 'send failed');
    });
    return true;
  }

  /** Closes the connection because of an error: its close code is `closeCodeOf(code)`, its reason the code. */
  fail(error: Pick<YStateError, 'code' | 'message'>): void {
    if (this.closed) return;
    this.metrics.errors.inc({ code: error.code });
    const status = httpStatusOf(error.code);
    const level = status >= 500 && error.code !== ErrorCode.SLOW_CONSUMER ? 'error' : 'info';
    this.log[level]({ code: error.code }, `closing: ${error.message}`);
    if (status === 401 || status === 403) this.send(encodePermissionDenied(error.message));
    this.close(closeCodeOf(error.code), error.code);
  }

  /** Closes the connection with 4401 UNAUTHORIZED when its token stops being accepted. */
  expireAt(expiry: TokenExpiry): void {
    const wait = Math.max(0, expiry.at - Date.now());
    this.expiryTimer = setTimeout(
      () => {
        if (wait > MAX_TIMER_MS) this.expireAt(expiry);
        else this.fail({ code: ErrorCode.UNAUTHORIZED, message: expiry.message });
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    this.expiryTimer.unref();
  }

  /** Starts the closing handshake; a peer that does not finish it within a second is cut off. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.closeReason = reason;
    this.ws.close(code, reason);
    this.killTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.killTimer.unref();
  }

  /** Drops the socket at once (a dead peer cannot answer a close frame). */
  terminate(reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.closeCode = 1006;
      this.closeReason = reason;
    }
    this.ws.terminate();
  }

  /** Called once the socket closed. */
  closedBy(code: number, reason: string): void {
    clearTimeout(this.killTimer);
    clearTimeout(this.expiryTimer);
    if (this.closeCode === undefined) {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = reason;
    }
  }
}
