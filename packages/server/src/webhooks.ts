/**
 * Webhook delivery from the log. Each subscription (documents by pattern, a URL, a secret) keeps a
 * cursor per document in the store; the node holding the subscription's lease reads each matching
 * document's entries after its cursor, POSTs them as one signed message (webhook-message.ts), and
 * raises the cursor only once the receiver answered 2xx. So delivery is at least once and in order
 * per document, and a restart, an outage or a crash loses nothing: the next holder starts from the
 * stored cursors. Failures are retried with exponential backoff; they show in the store's status
 * (`ystate webhooks status`) and in the metrics.
 *
 *   idle ──lease taken──▶ holding ──lease lost / close──▶ idle
 *   per document while holding: waiting ──due──▶ sending ──2xx──▶ waiting
 *                                                        └─fail─▶ backing off ──retryAt──▶ sending
 */

import {
  compilePattern,
  type DeliveryFailure,
  type DeliveryStatus,
  type DeliveryStore,
  type Engine,
  ErrorCode,
  isYStateError,
  type PathPattern,
  seqAtTime,
  YStateError,
} from '@ystate/core';
import type { Logger } from 'pino';
import type { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import type { ServerMetrics } from './metrics.js';
import { isTimedUpdateLog } from './timed-log.js';
import { type DocumentChanged, signerOf, signMessage } from './webhook-message.js';

/** One subscription: which documents, where to, signed with which secret. */
export interface WebhookSubscription {
  /** Names the subscription: its cursors, lease and status in the store, its metrics label. */
  id: string;
  /** The receiver's URL (http or https). */
  url: string;
  /** Documents by docId pattern, the grammar of auth grants (`projects/*`, `runs/**`, `**` for all). */
  docs: string;
  /** The Standard Webhooks secret (`whsec_` + base64 of at least 24 random bytes). */
  secret: string;
  /** Waits this long after a document's first undelivered change, so later ones join its message (default 0). */
  debounceMs?: number;
  /** A patch whose JSON is larger than this is sent as a link (`patchUrl`) instead (default 64 KiB). */
  maxPatchBytes?: number;
}

/** Webhook delivery options of `createServer`. */
export interface WebhookOptions {
  subscriptions: readonly WebhookSubscription[];
  /** Where cursors, leases and status are kept: the store the engine's log is in. */
  store: DeliveryStore;
  /** How often documents are checked for changes (other nodes' included) and the lease renewed (default 1 s). */
  pollMs?: number;
  /** How long a lease lasts without renewal: after a node dies, another takes over within it (default 15 s). */
  leaseMs?: number;
  /** Backoff between failed attempts: doubling from `minMs` up to `maxMs` (default 1 s … 5 min). */
  retry?: { minMs?: number; maxMs?: number };
  /** How long a receiver may take to answer (default 10 s). */
  timeoutMs?: number;
  /** At most this many entries per message (default 1,000). */
  maxEntries?: number;
  /** The server's public base URL, put before `patchUrl` (default: the link is a path). */
  publicUrl?: string;
}

const subscriptionSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" or "-" (at most 100)'),
  url: z.url({ protocol: /^https?$/ }),
  docs: z.string().min(1),
  secret: z.string().min(1),
  debounceMs: z.number().int().min(0).optional(),
  maxPatchBytes: z.number().int().positive().optional(),
});

/** Validates subscriptions (INVALID_CONFIG naming what is wrong): ids unique, patterns and secrets usable. */
export function parseSubscriptions(input: unknown): WebhookSubscription[] {
  const parsed = z.array(subscriptionSchema).safeParse(input);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${['webhooks', ...i.path].join('.')}: ${i.message}`);
    throw invalidConfig(reason.join('; '));
  }
  const seen = new Set<string>();
  for (const [index, subscription] of parsed.data.entries()) {
    if (seen.has(subscription.id))
      throw invalidConfig(`webhooks.${index}.id: "${subscription.id}" is used twice`);
    seen.add(subscription.id);
    try {
      compilePattern(`/${subscription.docs}`);
    } catch (cause) {
      throw invalidConfig(`webhooks.${index}.docs: "${subscription.docs}" is not a docId pattern`, cause);
    }
    try {
      signerOf(subscription.secret);
    } catch (cause) {
      // Never the secret itself in a message.
      throw invalidConfig(`webhooks.${index}.secret: expected whsec_ followed by base64`, cause);
    }
  }
  return parsed.data.map(({ debounceMs, maxPatchBytes, ...required }) => ({
    ...required,
    ...(debounceMs !== undefined ? { debounceMs } : {}),
    ...(maxPatchBytes !== undefined ? { maxPatchBytes } : {}),
  }));
}

function invalidConfig(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_CONFIG, message, cause });
}

/** What delivery needs of the server around it. */
export interface WebhookContext {
  engine: Engine;
  metrics: ServerMetrics;
  logger: Logger;
}

/** Delivers every configured subscription; `start` once, `close` on shutdown. */
export class WebhookDelivery {
  private readonly subscriptions: SubscriptionDelivery[];
  private stopWake: (() => void) | undefined;

  /** Checks the subscriptions (INVALID_CONFIG when one is bad); nothing is sent before `start`. */
  constructor(
    private readonly options: WebhookOptions,
    context: WebhookContext,
  ) {
    const subscriptions = parseSubscriptions(options.subscriptions);
    this.subscriptions = subscriptions.map((s) => new SubscriptionDelivery(s, options, context));
    // Changes written on this node are delivered without waiting for the next poll.
    const { log } = context.engine;
    if (isTimedUpdateLog(log)) {
      this.stopWake = log.onAppendTiming((docId) => {
        for (const subscription of this.subscriptions) subscription.wake(docId);
      });
    }
  }

  /** Takes the leases it can and starts delivering; resolves after the first round. */
  async start(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.start()));
  }

  /** Stops delivering, waits for messages in flight, and gives the leases up for another node. */
  async close(): Promise<void> {
    this.stopWake?.();
    await Promise.all(this.subscriptions.map((s) => s.close()));
  }

  /** The subscriptions this server delivers (without secrets). */
  get ids(): string[] {
    return this.options.subscriptions.map((s) => s.id);
  }
}

interface DocumentDelivery {
  /** When the document's next message is due (ms since the epoch); undefined when nothing waits. */
  dueAt: number | undefined;
  sending: boolean;
  failure: DeliveryFailure | undefined;
}

class SubscriptionDelivery {
  private readonly pattern: PathPattern;
  private readonly signer: Webhook;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly maxEntries: number;
  private holding = false;
  private status: DeliveryStatus | undefined;
  private readonly cursors = new Map<string, number>();
  private readonly docs = new Map<string, DocumentDelivery>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborts = new AbortController();
  private closed = false;

  constructor(
    private readonly subscription: WebhookSubscription,
    private readonly options: WebhookOptions,
    private readonly context: WebhookContext,
  ) {
    this.pattern = compilePattern(`/${subscription.docs}`);
    this.signer = signerOf(subscription.secret);
    this.leaseMs = options.leaseMs ?? 15_000;
    // Rounds renew the lease: at least three per lease period.
    this.pollMs = Math.min(options.pollMs ?? 1000, Math.floor(this.leaseMs / 3));
    this.retryMinMs = options.retry?.minMs ?? 1000;
    this.retryMaxMs = options.retry?.maxMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 1000;
  }

  private get id(): string {
    return this.subscription.id;
  }

  async start(): Promise<void> {
    await this.runRound();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.aborts.abort();
    await this.round;
    await Promise.allSettled([...this.inFlight]);
    if (this.holding) {
      this.holding = false;
      await this.options.store.release(this.id, this.context.engine.nodeId).catch(() => undefined);
    }
    this.context.metrics.webhookLease.set({ subscription: this.id }, 0);
  }

  /** A document changed on this node: deliver it now if it is ours. */
  wake(docId: string): void {
    if (!this.holding || this.closed || !this.matches(docId)) return;
    this.check(docId).catch((error) => this.report(error, docId));
  }

  private matches(docId: string): boolean {
    return this.pattern.matches(docId.split('/'));
  }

  private runRound(): Promise<void> {
    this.round = this.poll()
      .catch((error) => this.report(error, '*'))
      .finally(() => {
        this.round = undefined;
        if (!this.closed) this.timer = setTimeout(() => void this.runRound(), this.pollMs);
      });
    return this.round;
  }

  /** One round: renew (or take) the lease, then look at every matching document. */
  private async poll(): Promise<void> {
    const { store } = this.options;
    const { engine, metrics } = this.context;
    const held = await store.lease(this.id, engine.nodeId, this.leaseMs);
    if (held && !this.holding) await this.takeOver();
    else if (!held && this.holding) this.giveUp();
    metrics.webhookLease.set({ subscription: this.id }, held ? 1 : 0);
    if (!held || this.closed) return;
    let lag = 0;
    for (const docId of await engine.log.docIds()) {
      if (!this.matches(docId)) continue;
      lag += await this.check(docId);
    }
    metrics.webhookLag.set({ subscription: this.id }, lag);
  }

  /** This node now delivers: start from the cursors in the store. */
  private async takeOver(): Promise<void> {
    const { store } = this.options;
    this.cursors.clear();
    this.docs.clear();
    for (const [docId, seq] of await store.cursors(this.id)) this.cursors.set(docId, seq);
    const stored = await store.status(this.id);
    const now = Date.now();
    this.status = {
      since: stored?.since ?? now,
      node: this.context.engine.nodeId,
      updatedAt: now,
      failing: {},
    };
    // What failed under the previous holder is tried again at once (its attempts are kept).
    for (const [docId, failure] of Object.entries(stored?.failing ?? {})) {
      this.docs.set(docId, { dueAt: now, sending: false, failure });
    }
    this.status.failing = { ...(stored?.failing ?? {}) };
    this.context.metrics.webhookFailing.set(
      { subscription: this.id },
      Object.keys(this.status.failing).length,
    );
    await store.saveStatus(this.id, this.status);
    this.holding = true;
    this.context.logger.info({ subscription: this.id }, `webhooks: delivering subscription "${this.id}"`);
  }

  private giveUp(): void {
    this.holding = false;
    this.docs.clear();
    this.context.logger.info({ subscription: this.id }, `webhooks: another node delivers "${this.id}"`);
  }

  /** Schedules a document's next message if it has undelivered entries; resolves with how many. */
  private async check(docId: string): Promise<number> {
    const log = this.context.engine.log;
    const head = await log.head(docId);
    const cursor = await this.cursorOf(docId, head);
    const waiting = head - cursor;
    if (waiting <= 0) return 0;
    const state = this.docs.get(docId) ?? { dueAt: undefined, sending: false, failure: undefined };
    this.docs.set(docId, state);
    if (!state.sending && state.dueAt === undefined) {
      state.dueAt = Date.now() + (this.subscription.debounceMs ?? 0);
    }
    this.sendIfDue(docId, state);
    return waiting;
  }

  /**
   * The cursor of a document; a document seen for the first time starts after its entries written
   * before the subscription's start (stored at once, so every later holder agrees).
   */
  private async cursorOf(docId: string, head: number): Promise<number> {
    const known = this.cursors.get(docId);
    if (known !== undefined) return known;
    const since = this.status?.since ?? Date.now();
    const start = await seqAtTime(this.context.engine.log, docId, since - 1, head);
    await this.options.store.advance(this.id, docId, start);
    const stored = (await this.options.store.cursors(this.id)).get(docId) ?? start;
    this.cursors.set(docId, Math.max(this.cursors.get(docId) ?? 0, stored));
    return this.cursors.get(docId) ?? stored;
  }

  private sendIfDue(docId: string, state: DocumentDelivery): void {
    if (state.sending || state.dueAt === undefined || !this.holding || this.closed) return;
    const wait = state.dueAt - Date.now();
    if (wait > 0) {
      // Checked again on a later round (or sooner, when due before it).
      if (wait < this.pollMs) {
        const timer = setTimeout(() => this.sendIfDue(docId, state), wait);
        timer.unref();
      }
      return;
    }
    state.sending = true;
    state.dueAt = undefined;
    const sending = this.send(docId, state)
      .catch((error) => {
        // The store failed (reading the head, raising the cursor): try again later, not at once.
        state.dueAt = Date.now() + this.retryMinMs;
        this.report(error, docId);
      })
      .finally(() => {
        state.sending = false;
        this.inFlight.delete(sending);
        // Entries that arrived meanwhile (or a retry) go next.
        if (state.dueAt !== undefined) this.sendIfDue(docId, state);
        else if (!this.closed && this.holding) this.check(docId).catch((error) => this.report(error, docId));
      });
    this.inFlight.add(sending);
  }

  /** Sends the document's entries after its cursor (up to `maxEntries`) as one message. */
  private async send(docId: string, state: DocumentDelivery): Promise<void> {
    const { engine, metrics } = this.context;
    const cursor = this.cursors.get(docId) ?? 0;
    const head = await engine.log.head(docId);
    if (head <= cursor) return;
    const to = Math.min(head, cursor + this.maxEntries);
    let outcome: string | undefined;
    try {
      outcome = await this.post(await this.describe(docId, cursor + 1, to));
    } catch (error) {
      // The message could not be made (the store is down, say): retried with backoff like a refusal.
      outcome = `could not read the log: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (this.closed && outcome !== undefined) return;
    if (outcome === undefined) {
      await this.options.store.advance(this.id, docId, to);
      this.cursors.set(docId, Math.max(this.cursors.get(docId) ?? 0, to));
      metrics.webhookDeliveries.inc({ subscription: this.id, outcome: 'delivered' });
      if (state.failure !== undefined) {
        state.failure = undefined;
        await this.saveFailure(docId, undefined);
      }
      if (head > to) state.dueAt = Date.now();
      return;
    }
    metrics.webhookDeliveries.inc({ subscription: this.id, outcome: 'failed' });
    const now = Date.now();
    const attempts = (state.failure?.attempts ?? 0) + 1;
    const backoff = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(attempts - 1, 30));
    state.failure = {
      from: cursor + 1,
      attempts,
      error: outcome,
      since: state.failure?.since ?? now,
      retryAt: now + backoff,
    };
    state.dueAt = state.failure.retryAt;
    await this.saveFailure(docId, state.failure);
    if (attempts === 1 || attempts % 10 === 0) {
      this.context.logger.warn(
        { subscription: this.id, docId, from: cursor + 1, to, attempts, error: outcome, retryInMs: backoff },
        `webhooks: delivery to subscription "${this.id}" failed (${outcome}); retrying`,
      );
    }
  }

  /** The message's data: the range, its origins, and its patch (or a link to it). */
  private async describe(docId: string, from: number, to: number): Promise<DocumentChanged> {
    const { engine } = this.context;
    const entries = await engine.log.read(docId, { from, to });
    const origins = [...new Set(entries.map((entry) => entry.origin))];
    const data: DocumentChanged = { subscription: this.id, docId, from, to, origins };
    try {
      const { patch } = await engine.diff(docId, { seq: from - 1 }, { seq: to });
      const limit = this.subscription.maxPatchBytes ?? 64 * 1024;
      if (Buffer.byteLength(JSON.stringify(patch)) <= limit) data.patch = patch;
      else {
        const path = `/api/docs/${encodeURIComponent(docId)}/diff?from=${from - 1}&to=${to}`;
        data.patchUrl = `${(this.options.publicUrl ?? '').replace(/\/+$/, '')}${path}`;
      }
    } catch (error) {
      if (!isYStateError(error, ErrorCode.HISTORY_PRUNED)) throw error;
      data.historyPruned = true;
    }
    return data;
  }

  /** POSTs a signed message; resolves with undefined on 2xx, else with why it failed. */
  private async post(data: DocumentChanged): Promise<string | undefined> {
    const message = signMessage(this.signer, data);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
    try {
      const response = await fetch(this.subscription.url, {
        method: 'POST',
        headers: { ...message.headers, 'user-agent': 'ystate-webhooks' },
        body: message.body,
        signal: AbortSignal.any([timeout, this.aborts.signal]),
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return undefined;
      return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    } catch (error) {
      if (timeout.aborted) return `no answer within ${this.options.timeoutMs ?? 10_000} ms`;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    }
  }

  /** Records a document's failure (or its end) in the store's status and the metrics. */
  private async saveFailure(docId: string, failure: DeliveryFailure | undefined): Promise<void> {
    if (this.status === undefined) return;
    if (failure === undefined) delete this.status.failing[docId];
    else this.status.failing[docId] = failure;
    this.status.updatedAt = Date.now();
    this.context.metrics.webhookFailing.set(
      { subscription: this.id },
      Object.keys(this.status.failing).length,
    );
    await this.options.store.saveStatus(this.id, this.status);
  }

  private report(error: unknown, docId: string): void {
    if (this.closed) return;
    this.context.logger.error(
      { err: error, subscription: this.id, docId },
      'webhooks: delivery round failed',
    );
  }
}
