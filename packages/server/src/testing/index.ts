/**
 * @ystate/server/testing — a real webhook receiver for tests (Standard Webhooks signatures verified
 * with the `standardwebhooks` library).
 */

export type { ReceivedMessage, ReceiverMode } from './webhook-receiver.js';
export { WebhookReceiver } from './webhook-receiver.js';
