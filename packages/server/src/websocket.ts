/**
 * The y-websocket endpoint: `ws://HOST:PORT/<docId>`. Upgrades are authorized before the handshake
 * completes (a refusal still completes it, then closes with 4401/4403 so clients see the code);
 * messages are checked for size and rate as they arrive and handled in order per connection; clients'
 * updates go to `engine.receive` (never straight into the document).
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { addsNothing, ErrorCode, YStateError } from '@ystate/core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { selectProtocol, type TokenExpiry } from './auth.js';
import { CLOSE_SERVICE_RESTART, Connection, type ConnectionLimits } from './connection.js';
import { toYStateError } from './http-util.js';
import type { Access, Principal } from './options.js';
import { invalidMessage, parseMessage } from './protocol.js';
import { Room, type RoomContext } from './room.js';
import { inSpan } from './tracing.js';

/** Decides who may open a document (the server's auth, shared with HTTP). */
export type WebSocketAuthorizer = (
  request: IncomingMessage,
  docId: string,
  query: URLSearchParams,
) => Promise<{ principal: Principal | undefined; access: Access; expiry: TokenExpiry | undefined }>;

export interface WebSocketLimits extends ConnectionLimits {
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  readonly upgradeTimeoutMs: number;
}

export interface WebSocketContext extends RoomContext {
  readonly limits: WebSocketLimits;
  readonly authorize: WebSocketAuthorizer;
  /** Called with each update latency (ms) when the log does not report its own append timings. */
  readonly onUpdateLatency: (ms: number) => void;
}

/** A document's room, shared by the connections that asked for it while it opens. */
interface RoomSlot {
  /** The docId string every connection to the document shares (not one copy per URL parsed). */
  readonly docId: string;
  readonly room: Promise<Room>;
  members: number;
}

/**
 * The sockets this endpoint makes: each knows its connection, so that one set of listeners (made
 * once per endpoint) serves every socket instead of closures made per connection.
 */
class ServerSocket extends WebSocket {
  connection?: Connection;
}

/** The listeners of an accepted socket; `this` is the socket. */
interface SocketListeners {
  close(this: ServerSocket, code: number, reason: Buffer): void;
  error(this: ServerSocket, error: Error): void;
  pong(this: ServerSocket): void;
  message(this: ServerSocket, data: RawData, isBinary: boolean): void;
}

/** The answer to an upgrade that did not finish within `upgradeTimeoutMs`. */
const UPGRADE_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/** Longest docId accepted in a URL. */
const MAX_DOC_ID_LENGTH = 1024;

export class WebSocketEndpoint {
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, RoomSlot>();
  private readonly roomsClosing = new Set<Promise<void>>();
  private readonly connections = new Set<Connection>();
  /** While closing: resolves `close`'s wait once the last connection has closed. */
  private drained: (() => void) | undefined;
  private readonly slotOf = new WeakMap<Connection, RoomSlot>();
  private readonly pingTimer: ReturnType<typeof setInterval>;
  private readonly listeners: SocketListeners;
  private closing = false;

  constructor(private readonly ctx: WebSocketContext) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Frames over the limit (up to twice it) are read and answered with 4413; beyond that ws
      // stops reading and closes with 1009 so a huge frame is never buffered.
      maxPayload: ctx.limits.maxMessageBytes * 2,
      handleProtocols: (offered) => selectProtocol(offered),
      WebSocket: ServerSocket,
    });
    this.listeners = socketListeners(
      (connection, code, reason) => this.onClose(connection, code, reason),
      (connection, data, isBinary) => this.onMessage(connection, data, isBinary),
    );
    this.pingTimer = setInterval(() => this.ping(), ctx.limits.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Takes an HTTP upgrade request. */
  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', (error) => this.ctx.logger.debug({ err: error }, 'upgrade socket error'));
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    // Authorizing (a hook, a key set to fetch) may hang: the handshake must end within the bound.
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      this.ctx.metrics.errors.inc({ code: 'UPGRADE_TIMEOUT' });
      this.ctx.logger.debug('upgrade not finished within upgradeTimeoutMs: closed');
      socket.end(UPGRADE_TIMEOUT_RESPONSE);
      socket.destroy();
    }, this.ctx.limits.upgradeTimeoutMs);
    timer.unref();
    const connectionId = Connection.newId();
    let accepted:
      | { docId: string; principal: Principal | undefined; access: Access; expiry: TokenExpiry | undefined }
      | undefined;
    let refusal: YStateError | undefined;
    try {
      const { docId, query } = docIdOfUrl(request.url);
      const { principal, access, expiry } = await this.ctx.authorize(request, docId, query);
      await this.ctx.hooks.onConnect?.({ request, docId, connectionId, principal, access });
      accepted = { docId, principal, access, expiry };
    } catch (error) {
      refusal = toYStateError(error);
    }
    clearTimeout(timer);
    if (socket.destroyed) return;
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (accepted) {
        const connection = this.accept(
          ws as ServerSocket,
          connectionId,
          accepted.docId,
          accepted.principal,
          accepted.access,
        );
        if (accepted.expiry !== undefined) connection.expireAt(accepted.expiry);
      } else this.refuse(ws, connectionId, refusal as YStateError);
    });
  }

  /** Stops taking messages, runs `flush`, then closes every connection with 1012 and every room. */
  async close(flush: () => Promise<void>): Promise<void> {
    this.closing = true;
    clearInterval(this.pingTimer);
    await flush();
    if (this.connections.size > 0) {
      const drained = new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      for (const connection of this.connections) connection.close(CLOSE_SERVICE_RESTART, 'SERVICE_RESTART');
      await drained;
    }
    await Promise.all(this.roomsClosing);
    this.wss.close();
  }

  private refuse(ws: WebSocket, connectionId: string, error: YStateError): void {
    const { logger } = this.ctx;
    const connection = new Connection(
      { id: connectionId, ws, docId: '', principal: undefined, access: 'read', origin: '', logger },
      this.ctx.limits,
      this.ctx.metrics,
    );
    ws.on('error', (err) => connection.log.debug({ err }, 'websocket error'));
    connection.fail(error);
  }

  private accept(
    ws: ServerSocket,
    connectionId: string,
    requestedDocId: string,
    principal: Principal | undefined,
    access: Access,
  ): Connection {
    const { ctx, listeners } = this;
    const docId = this.rooms.get(requestedDocId)?.docId ?? requestedDocId;
    const origin = `${principal?.id ?? 'anonymous'}#${connectionId}`;
    const connection = new Connection(
      { id: connectionId, ws, docId, principal, access, origin, logger: ctx.logger },
      ctx.limits,
      ctx.metrics,
    );
    ctx.metrics.connections.inc();
    if (connection.logs('debug')) connection.log.debug({ access, principal: principal?.id }, 'connected');
    this.connections.add(connection);
    ws.connection = connection;
    ws.on('close', listeners.close);
    ws.on('error', listeners.error);
    ws.on('pong', listeners.pong);
    ws.on('message', listeners.message);
    if (this.closing) {
      // Upgraded while the server started closing: it goes too (close waits for it).
      connection.close(CLOSE_SERVICE_RESTART, 'SERVICE_RESTART');
      return connection;
    }
    connection.enqueue(() => this.join(connection));
    return connection;
  }

  /** A new connection's first task: open (or share) its document's room and join it. */
  private async join(connection: Connection): Promise<void> {
    const room = await this.acquire(connection);
    if (!connection.closed) room.join(connection);
  }

  private onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closed || this.closing) return;
    const { limits } = this.ctx;
    if (!connection.take()) {
      connection.fail({
        code: ErrorCode.RATE_LIMITED,
        message: `more than ${limits.messagesPerSecond} messages per second`,
      });
      return;
    }
    const bytes = toBytes(data);
    if (bytes.byteLength > limits.maxMessageBytes) {
      connection.fail({
        code: ErrorCode.MESSAGE_TOO_LARGE,
        message: `a message of ${bytes.byteLength} bytes is over the limit of ${limits.maxMessageBytes}`,
      });
      return;
    }
    if (!isBinary) {
      connection.fail(invalidMessage('text frames are not y-websocket messages'));
      return;
    }
    const arrived = performance.now();
    connection.enqueue(() => this.handle(connection, bytes, arrived));
  }

  private async handle(connection: Connection, bytes: Uint8Array, arrived: number): Promise<void> {
    const room = connection.room;
    if (room === undefined) return;
    const message = parseMessage(bytes);
    switch (message.type) {
      case 'syncStep1': {
        let reply: Uint8Array;
        try {
          reply = room.syncStep2For(message.stateVector);
        } catch (cause) {
          throw invalidMessage('sync step 1 carries an invalid state vector', cause);
        }
        connection.send(reply);
        return;
      }
      case 'syncStep2':
      case 'update':
        await this.receive(connection, room, message.update, arrived);
        return;
      case 'awareness':
        try {
          room.applyAwareness(connection, message.update);
        } catch (cause) {
          throw invalidMessage('malformed awareness update', cause);
        }
        return;
      case 'queryAwareness':
        room.sendAwarenessTo(connection);
        return;
      case 'auth':
        return;
    }
  }

  /**
   * A client's update: offered to `onChange`, then handed to the engine, which integrates, logs and
   * announces it (not awaited: order is kept there).
   */
  private async receive(
    connection: Connection,
    room: Room,
    update: Uint8Array,
    arrived: number,
  ): Promise<void> {
    const { ctx } = this;
    if (connection.access !== 'write') {
      ctx.metrics.updatesIgnored.inc({ reason: 'read-only' });
      connection.log.debug('ignored an update from a read-only connection');
      return;
    }
    if (ctx.hooks.onChange) {
      // Nothing new (a reconnecting client's sync step 2, a duplicate) never reaches the hook. Without
      // a hook the engine finds it out itself, with the one decode its gate makes anyway.
      if (addsNothing(room.doc.ydoc, update)) {
        ctx.metrics.updatesIgnored.inc({ reason: 'redundant' });
        return;
      }
      await ctx.hooks.onChange({
        transport: 'websocket',
        docId: room.docId,
        principal: connection.principal,
        origin: connection.origin,
        connectionId: connection.id,
        update,
      });
    }
    inSpan('ystate.receive', { 'ystate.doc_id': room.docId, 'ystate.bytes': update.byteLength }, () =>
      ctx.engine.receive(room.docId, update, { origin: connection.origin }),
    ).then(
      ({ changed }) => {
        if (!changed) {
          ctx.metrics.updatesIgnored.inc({ reason: 'redundant' });
          return;
        }
        const ms = performance.now() - arrived;
        ctx.metrics.updatesIn.inc({ transport: 'websocket' });
        ctx.metrics.updateLatency.observe(ms / 1000);
        ctx.onUpdateLatency(ms);
      },
      (error: unknown) => {
        // Refused at the gate (nothing changed), or the log refused it (nothing kept): the client
        // resends what the server lacks when it resyncs after reconnecting.
        connection.fail(toYStateError(error));
      },
    );
  }

  private async acquire(connection: Connection): Promise<Room> {
    const { docId } = connection;
    let slot = this.rooms.get(docId);
    if (slot === undefined) {
      const opening = Room.open(docId, this.ctx);
      const created: RoomSlot = { docId, room: opening, members: 0 };
      slot = created;
      this.rooms.set(docId, created);
      opening.catch(() => {
        if (this.rooms.get(docId) === created) this.rooms.delete(docId);
      });
    }
    slot.members++;
    this.slotOf.set(connection, slot);
    return slot.room;
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    const { ctx } = this;
    connection.closedBy(code, reason);
    this.connections.delete(connection);
    ctx.metrics.connections.dec();
    connection.room?.leave(connection);
    const slot = this.slotOf.get(connection);
    if (slot !== undefined) {
      slot.members--;
      if (slot.members === 0) {
        if (this.rooms.get(connection.docId) === slot) this.rooms.delete(connection.docId);
        const closing = slot.room.then(
          (room) => room.close(),
          () => undefined,
        );
        this.roomsClosing.add(closing);
        void closing.finally(() => this.roomsClosing.delete(closing));
      }
    }
    if (connection.logs('debug')) {
      connection.log.debug({ code: connection.closeCode, reason: connection.closeReason }, 'disconnected');
    }
    const { onDisconnect } = ctx.hooks;
    if (onDisconnect) {
      Promise.resolve()
        .then(() =>
          onDisconnect({
            docId: connection.docId,
            connectionId: connection.id,
            principal: connection.principal,
            code: connection.closeCode ?? code,
            reason: connection.closeReason,
          }),
        )
        .catch((error: unknown) => connection.log.warn({ err: error }, 'onDisconnect failed'));
    }
    if (this.connections.size === 0) this.drained?.();
  }

  /** Pings every connection; one that has not answered the previous ping is dropped. */
  private ping(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.ctx.metrics.errors.inc({ code: 'PING_TIMEOUT' });
        connection.log.info('no pong since the last ping: dropping the connection');
        connection.terminate('PING_TIMEOUT');
        continue;
      }
      connection.alive = false;
      try {
        connection.ws.ping();
      } catch {
        connection.terminate('PING_FAILED');
      }
    }
  }
}

/**
 * One set of socket listeners for every connection of an endpoint: each finds its connection on
 * the socket (`this`), so a connection costs no closures of its own.
 */
function socketListeners(
  onClose: (connection: Connection, code: number, reason: string) => void,
  onMessage: (connection: Connection, data: RawData, isBinary: boolean) => void,
): SocketListeners {
  return {
    close(code, reason) {
      const { connection } = this;
      if (connection !== undefined) onClose(connection, code, reason.toString());
    },
    error(error) {
      const { connection } = this;
      if (connection?.logs('debug')) connection.log.debug({ err: error }, 'websocket error');
    },
    pong() {
      if (this.connection !== undefined) this.connection.alive = true;
    },
    message(data, isBinary) {
      const { connection } = this;
      if (connection !== undefined) onMessage(connection, data, isBinary);
    },
  };
}

/** The docId and query of a WebSocket URL: the path after the leading slash, URL-decoded. */
export function docIdOfUrl(url: string | undefined): { docId: string; query: URLSearchParams } {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  let docId: string;
  try {
    docId = decodeURIComponent(path.replace(/^\//, ''));
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: 'the URL path is not valid URL encoding',
      cause,
    });
  }
  if (docId === '')
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'the URL path names no document' });
  if (docId.length > MAX_DOC_ID_LENGTH) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `docIds are at most ${MAX_DOC_ID_LENGTH} characters`,
    });
  }
  return { docId, query };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
