/**
 * One webhook message: the body a subscription's receiver gets for a range of a document's log
 * (docId, seq range, origins, the JSON Patch of the range or a link to it), and its Standard
 * Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), signed with the
 * `standardwebhooks` library. The id names the range, so a redelivery of the same range carries
 * the same id.
 */

import { createHash } from 'node:crypto';
import type { PatchOperation } from '@ystate/core';
import { Webhook } from 'standardwebhooks';

/** The event type of every message (`type` in the body). */
export const DOCUMENT_CHANGED = 'document.changed';

/** What a message says about a range of a document's log. */
export interface DocumentChanged {
  /** The subscription the message was sent for. */
  subscription: string;
  docId: string;
  /** The first seq of the range (the entry after the previous delivery). */
  from: number;
  /** The last seq of the range. */
  to: number;
  /** The distinct origins of the range's entries, in order of first appearance. */
  origins: string[];
  /** The JSON Patch from the state at `from - 1` to the state at `to`, when it fits. */
  patch?: PatchOperation[];
  /** Where to GET that patch (`…/diff?from=…&to=…`) when it is larger than the subscription allows. */
  patchUrl?: string;
  /** True when the history before `from` was pruned, so no patch can be built (the range is still exact). */
  historyPruned?: true;
}

/** The body of a message: a Standard Webhooks payload. */
export interface WebhookBody {
  type: typeof DOCUMENT_CHANGED;
  /** When the message was made (ISO 8601). */
  timestamp: string;
  data: DocumentChanged;
}

/** A message ready to POST. */
export interface SignedMessage {
  id: string;
  body: string;
  headers: Record<string, string>;
}

/** The message id of a range: the same for every attempt to deliver that range. */
export function messageIdOf(data: Pick<DocumentChanged, 'subscription' | 'docId' | 'from' | 'to'>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([data.subscription, data.docId, data.from, data.to]))
    .digest('base64url');
  return `msg_${digest.slice(0, 32)}`;
}

/** The body and the signed headers of a message, signed with `secret` (`whsec_…`) at `now`. */
export function signMessage(signer: Webhook, data: DocumentChanged, now = new Date()): SignedMessage {
  const id = messageIdOf(data);
  const body: WebhookBody = { type: DOCUMENT_CHANGED, timestamp: now.toISOString(), data };
  const text = JSON.stringify(body);
  return {
    id,
    body: text,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signer.sign(id, now, text),
    },
  };
}

/** A signer for a subscription's secret; throws when the secret is not a base64 key (`whsec_…`). */
export function signerOf(secret: string): Webhook {
  const signer = new Webhook(secret);
  // The library decodes lazily in some versions: sign once so a bad secret fails at start-up.
  signer.sign('msg_check', new Date(), '');
  return signer;
}
