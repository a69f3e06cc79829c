/**
 * @ystate/server — the front door of ystate: a y-websocket protocol server over an `Engine` (stock
 * `WebsocketProvider` clients work unchanged; their updates are validated and logged before anyone
 * sees them), an HTTP API for state, patches and history, JWT auth with per-document grants,
 * Prometheus metrics, health and readiness, and hooks. Depends on @ystate/core only.
 */

export type { ActiveAlert } from './alerts.js';
export { accessOf, principalOf, TOKEN_PROTOCOL_PREFIX } from './auth.js';
export type { CorsOptions } from './cors.js';
export { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from './cors.js';
export type { ServerMetrics } from './metrics.js';
export type {
  Access,
  AlertThresholds,
  AuthenticatePayload,
  AuthOptions,
  BroadcastPayload,
  ChangePayload,
  ConnectPayload,
  DisconnectPayload,
  ExtraRoute,
  Grant,
  HttpMethod,
  Principal,
  RouteContext,
  ServerHooks,
  ServerLimits,
  ServerOptions,
  Transport,
} from './options.js';
export type { ClientMessage } from './protocol.js';
export { MessageType, parseMessage } from './protocol.js';
export type { YStateServer } from './server.js';
export { createServer } from './server.js';
export type { AppendTimingListener, TimedUpdateLog } from './timed-log.js';
export { isTimedUpdateLog, timeAppends } from './timed-log.js';
export type { DocumentChanged, SignedMessage, WebhookBody } from './webhook-message.js';
export { DOCUMENT_CHANGED, messageIdOf } from './webhook-message.js';
export type { WebhookContext, WebhookOptions, WebhookSubscription } from './webhooks.js';
export { parseSubscriptions, WebhookDelivery } from './webhooks.js';
