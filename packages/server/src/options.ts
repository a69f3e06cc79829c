/** The options of `createServer`, the hook payloads, and the shape of extra HTTP routes. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine, JsonPatch, SyncBus } from '@ystate/core';
import type { CryptoKey, JSONWebKeySet, JWK, KeyObject } from 'jose';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CorsOptions } from './cors.js';
import type { WebhookOptions } from './webhooks.js';

/** What a principal may do with a document: `write` includes `read`. */
export type Access = 'read' | 'write';

/** One grant of a token: documents whose id matches `pattern` (`*` one segment, `**` any depth). */
export interface Grant {
  readonly pattern: string;
  readonly access: Access;
}

/** Who is calling, as established by the token (or by `onAuthenticate`). */
export interface Principal {
  /** The token's `sub`, or `anonymous` when it has none. Recorded in the log as part of the origin. */
  readonly id: string;
  /** The documents this principal may read or write. */
  readonly grants: readonly Grant[];
  /** The verified JWT claims (what `onAuthenticate` put there for principals it made). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** JWT verification. Give a `secret` (HS256/384/512), a `publicKey`, or a `jwks` (or several). */
export interface AuthOptions {
  /** Shared secret for HMAC-signed tokens. */
  secret?: string | Uint8Array;
  /** Public key for RS*, PS*, ES* or EdDSA tokens. */
  publicKey?: CryptoKey | KeyObject | JWK;
  /** A key set, or the URL it is served from (fetched and cached by jose). */
  jwks?: JSONWebKeySet | URL;
  /** Required `iss` claim. */
  issuer?: string | string[];
  /** Required `aud` claim. */
  audience?: string | string[];
  /**
   * Seconds a token without `exp` stays valid: from its `iat`, or else from when the WebSocket
   * connection opened. Older ones are refused (401) and open connections closed (4401). Default: none.
   */
  maxTokenAge?: number;
}

/** Limits that protect the server from clients. */
export interface ServerLimits {
  /** Largest WebSocket message, in bytes (default 4 MiB); larger ones close the connection with 4413. */
  maxMessageBytes?: number;
  /** Messages per second one connection may send, with a burst of one second's worth (default 300). */
  messagesPerSecond?: number;
  /** Send buffer above which a slow client is disconnected with 4503 (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Ping interval; a peer that has not answered the previous ping is dropped (default 30 s). */
  pingIntervalMs?: number;
  /** Largest HTTP request body, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Time to receive a request's headers, upgrades included, from when the socket connected (default 10 s); then 408. */
  headersTimeoutMs?: number;
  /** Time to receive a whole HTTP request, body included (default 30 s; at least `headersTimeoutMs`); then 408. */
  requestTimeoutMs?: number;
  /** Time from a WebSocket upgrade request's headers to the end of the handshake (default 10 s); then 408. */
  upgradeTimeoutMs?: number;
}

/** Thresholds above which a warning is logged and the alert is listed by `/readyz`. */
export interface AlertThresholds {
  /** Log append latency (moving average), in ms. */
  appendLatencyMs?: number;
  /** Time from an entry's creation on its node to its arrival on this node's bus (moving average), in ms. */
  busLagMs?: number;
}

/** How a request or connection reached the server. */
export type Transport = 'websocket' | 'http';

/** Passed to `onAuthenticate` once the token (if any) has been verified. */
export interface AuthenticatePayload {
  readonly request: IncomingMessage;
  readonly transport: Transport;
  readonly docId: string;
  /** The token found in `?token=`, `Authorization: Bearer` or the WebSocket subprotocol. */
  readonly token: string | undefined;
  /** The principal made from the verified token, when auth is configured and a token was given. */
  readonly principal: Principal | undefined;
}

/** Passed to `onConnect` when a WebSocket connection has been authorized, before it joins its document. */
export interface ConnectPayload {
  readonly request: IncomingMessage;
  readonly docId: string;
  readonly connectionId: string;
  readonly principal: Principal | undefined;
  readonly access: Access;
}

/** Passed to `onChange` before a change from a client is logged: a Yjs update (WebSocket) or a JSON Patch (HTTP). */
export type ChangePayload = {
  readonly docId: string;
  readonly principal: Principal | undefined;
  /** The origin the change will be logged with. */
  readonly origin: string;
} & (
  | { readonly transport: 'websocket'; readonly connectionId: string; readonly update: Uint8Array }
  | { readonly transport: 'http'; readonly patch: JsonPatch; readonly baseSeq: number | undefined }
);

/** Passed to `beforeBroadcast` before a durable update is sent to this node's connections. */
export interface BroadcastPayload {
  readonly docId: string;
  readonly update: Uint8Array;
  readonly seq: number;
  readonly origin: string;
  /** How many local connections will receive it. */
  readonly recipients: number;
}

/** Passed to `onDisconnect` once a connection has closed. */
export interface DisconnectPayload {
  readonly docId: string;
  readonly connectionId: string;
  readonly principal: Principal | undefined;
  /** The close code the server sent, or else the one the client sent (1006 when none). */
  readonly code: number;
  readonly reason: string;
}

/**
 * Extension points. A hook refuses by throwing a `YStateError` (its code decides the HTTP status
 * or WebSocket close code); any other error counts as INTERNAL_ERROR.
 */
export interface ServerHooks {
  /** Decides who is calling: return a principal to use (replacing the token's), or nothing to keep it. */
  onAuthenticate?: (payload: AuthenticatePayload) => Principal | undefined | Promise<Principal | undefined>;
  /** A WebSocket connection is about to join its document. */
  onConnect?: (payload: ConnectPayload) => void | Promise<void>;
  /** A client's change is about to be logged; throwing refuses it (and closes the WebSocket). */
  onChange?: (payload: ChangePayload) => void | Promise<void>;
  /**
   * A durable update is about to be sent to this node's clients. Synchronous (broadcasts keep log
   * order); throwing skips the broadcast, so local clients see the update only when they resync.
   */
  beforeBroadcast?: (payload: BroadcastPayload) => void;
  /** A WebSocket connection closed. Errors are logged. */
  onDisconnect?: (payload: DisconnectPayload) => void | Promise<void>;
}

/** HTTP methods an extra route may answer. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What an extra route's handler gets besides the request and response. */
export interface RouteContext {
  /** The document named by `:docId` in the route's path (URL-decoded; may contain slashes). */
  docId: string;
  /** The authenticated principal (undefined on an open server). */
  principal: Principal | undefined;
  /** What the principal may do with the document (`write` includes `read`; `write` on an open server). */
  access: Access;
  /** Aborted when the client goes away or the server shuts down: end streams then. */
  signal: AbortSignal;
}

/**
 * An HTTP route mounted beside the built-in API (how `@ystate/agui` serves `/api/docs/:docId/events`).
 * The server authenticates the request and checks `access` to the document before calling
 * `handler`; a `YStateError` thrown before the response started becomes a JSON error.
 */
export interface ExtraRoute {
  method: HttpMethod;
  /** A path with one `:docId` segment, e.g. `/api/docs/:docId/events`. */
  path: string;
  access: Access;
  /** Answers the request; called once authentication and the `access` check passed. */
  handler(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void>;
}

/** Options of `createServer`. */
export interface ServerOptions {
  engine: Engine;
  /** The bus the engine uses; the server sends awareness (never logged) to other nodes through its `signal`. */
  bus?: SyncBus;
  /** JWT auth; without it the server is open to anyone (it warns so at start-up). */
  auth?: AuthOptions;
  hooks?: ServerHooks;
  limits?: ServerLimits;
  /** Structured logs (default: pino at level `info` to stdout). */
  logger?: Logger;
  /** Where the metrics are registered (default: a new registry per server). */
  metrics?: Registry;
  alerts?: AlertThresholds;
  routes?: readonly ExtraRoute[];
  /** A directory served at `/` (the demo page); `index.html` for directories. */
  staticDir?: string;
  /** How long `/readyz` waits for the log (default 2 s). */
  readyTimeoutMs?: number;
  /** Cross-origin access from browsers (default: none; see docs/server.md, "CORS"). */
  cors?: CorsOptions;
  /** Webhook subscriptions delivered from the log (see docs/versions.md, "Webhooks"). */
  webhooks?: WebhookOptions;
}
