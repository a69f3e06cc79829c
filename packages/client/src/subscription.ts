/**
 * A live view of a document (or a subtree) over SSE (`GET /api/docs/<docId>/events`). The server
 * sends a STATE_SNAPSHOT, then a STATE_DELTA (JSON Patch) per batch of committed changes, each with
 * its seq as the SSE id. When the connection drops, the subscription reconnects by itself (backoff
 * with jitter) and sends `Last-Event-ID: <the last seq it applied>`: the server answers with the
 * changes since then from its log (or a snapshot when it no longer holds them), so nothing is lost
 * or applied twice.
 *
 * States: connecting → open → (reconnecting → open)* → closed. `closed` is final: `close()` was
 * called, the signal aborted, or the server refused in a way retrying cannot fix (see `onError`).
 */

import type { YStateClient } from './client.js';
import { isYStateClientError, YStateClientError } from './errors.js';
import type { Json, PatchOperation } from './json.js';
import { applyPatch } from './json-patch.js';
import { readEvents } from './sse.js';

/** Where a subscription is. */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** One change of the value a subscription follows. */
export interface StateChange {
  /** The whole value (of the document, or of the subtree) after the change. */
  value: Json;
  /** The seq of the state the value reflects. */
  seq: number;
  /** `snapshot`: the value was replaced; `delta`: `patch` was applied to the previous value. */
  kind: 'snapshot' | 'delta';
  /** The JSON Patch applied (deltas only), relative to the subtree. */
  patch?: PatchOperation[];
  /** True for the first change after a reconnection. */
  resumed: boolean;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** A JSON Pointer: follow only the subtree there (default: the whole document). */
  path?: string;
  /**
   * Start from a value the caller already has at a seq (from an earlier subscription, say): the
   * server sends only what changed since. Without it the first change is a snapshot.
   */
  resume?: { seq: number; value: Json };
  /** Called with every change, in seq order. */
  onChange?: (change: StateChange) => void;
  /** Called when the status changes. */
  onStatus?: (status: ConnectionStatus) => void;
  /**
   * Called with every failure. Retryable ones (no answer, 5xx, 408, 429, and 401 when the token is
   * a function) are followed by a reconnection; any other ends the subscription (status `closed`).
   */
  onError?: (error: YStateClientError) => void;
  /** Reconnection delays: the first `initialMs` (default 250), doubling to at most `maxMs` (default 10 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Closes the subscription. */
  signal?: AbortSignal;
}

/** A subscription to a document or subtree; iterate it (`for await`) or pass `onChange`. */
export class Subscription implements AsyncIterable<StateChange> {
  private currentValue: Json | undefined;
  private currentSeq: number | undefined;
  private currentStatus: ConnectionStatus = 'connecting';
  private readonly stop = new AbortController();
  private readonly listeners = new Set<(change: StateChange | undefined) => void>();
  private readonly firstValue: Promise<Json>;
  private settleFirst: { resolve: (value: Json) => void; reject: (error: unknown) => void } | undefined;

  /** Opens the event stream of `docId` at once; use `YStateClient.subscribe` rather than this. */
  constructor(
    private readonly client: YStateClient,
    readonly docId: string,
    private readonly options: SubscribeOptions = {},
  ) {
    this.firstValue = new Promise<Json>((resolve, reject) => {
      this.settleFirst = { resolve, reject };
    });
    // Nobody may ever ask for `ready`; its rejection must not be reported as unhandled.
    this.firstValue.catch(() => undefined);
    if (options.resume !== undefined) {
      this.currentValue = options.resume.value;
      this.currentSeq = options.resume.seq;
    }
    const signal = options.signal;
    if (signal?.aborted) this.close();
    else {
      signal?.addEventListener('abort', () => this.close(), { once: true });
      void this.run();
    }
  }

  /** The value now (undefined until the first event arrives, unless resuming). */
  get value(): Json | undefined {
    return this.currentValue;
  }

  /** The seq of the state `value` reflects. */
  get seq(): number | undefined {
    return this.currentSeq;
  }

  /** Where the connection stands: connecting, open, reconnecting or closed. */
  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** True once the subscription has ended. */
  get isClosed(): boolean {
    return this.currentStatus === 'closed';
  }

  /** Resolves with the first value received (or the resumed value); rejects if the subscription ends first. */
  get ready(): Promise<Json> {
    if (this.currentValue !== undefined && this.settleFirst !== undefined)
      this.settleFirst.resolve(this.currentValue);
    return this.firstValue;
  }

  /** Ends the subscription and its connection. */
  close(): void {
    if (this.isClosed) return;
    this.setStatus('closed');
    this.stop.abort();
    this.settleFirst?.reject(new DOMException('the subscription was closed', 'AbortError'));
    for (const listener of this.listeners) listener(undefined);
  }

  /** The changes from now on, until the subscription closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<StateChange> {
    const queue: StateChange[] = [];
    let wake: (() => void) | undefined;
    let ended = this.isClosed;
    const listener = (change: StateChange | undefined) => {
      if (change === undefined) ended = true;
      else queue.push(change);
      wake?.();
    };
    this.listeners.add(listener);
    try {
      for (;;) {
        const change = queue.shift();
        if (change !== undefined) yield change;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.isClosed) {
      if (this.currentValue !== undefined || attempt > 0) this.setStatus('reconnecting');
      try {
        await this.connect(() => {
          attempt = 0;
        });
      } catch (thrown) {
        if (this.isClosed) return;
        const error = asClientError(thrown);
        this.options.onError?.(error);
        if (!this.mayRetry(error)) {
          this.settleFirst?.reject(error);
          this.close();
          return;
        }
      }
      if (this.isClosed) return;
      await this.delay(this.backoffMs(attempt++));
    }
  }

  /** One connection: opens the stream, applies its events until it ends (resolves) or fails (throws). */
  private async connect(onOpen: () => void): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.currentSeq !== undefined) headers['last-event-id'] = String(this.currentSeq);
    const query: Record<string, string> = this.options.path === undefined ? {} : { path: this.options.path };
    const connection = new AbortController();
    const cut = () => connection.abort();
    this.stop.signal.addEventListener('abort', cut, { once: true });
    try {
      const response = await this.client.request('GET', this.client.docUrl(this.docId, 'events', query), {
        headers,
        signal: connection.signal,
      });
      if (response.body === null)
        throw new YStateClientError({ code: 'INVALID_RESPONSE', message: 'an event stream without a body' });
      this.setStatus('open');
      onOpen();
      let resumed = this.currentValue !== undefined;
      try {
        for await (const message of readEvents(response.body)) {
          if (this.isClosed) return;
          if (message.data === '') continue;
          if (this.apply(message.data, resumed)) resumed = false;
        }
      } catch (error) {
        if (isYStateClientError(error)) throw error;
        throw new YStateClientError({
          code: 'NETWORK_ERROR',
          message: `the event stream broke: ${error instanceof Error ? error.message : String(error)}`,
          cause: error,
        });
      }
    } finally {
      this.stop.signal.removeEventListener('abort', cut);
      connection.abort();
    }
  }

  /** Applies one event; true when it changed the value. Throws INVALID_RESPONSE when it does not apply. */
  private apply(data: string, resumed: boolean): boolean {
    let event: {
      type?: unknown;
      snapshot?: Json;
      delta?: PatchOperation[];
      metadata?: { ystate?: { seq?: unknown } };
    };
    try {
      event = JSON.parse(data);
    } catch (cause) {
      throw this.outOfStep('an event that is not JSON', cause);
    }
    const seq = event.metadata?.ystate?.seq;
    if (typeof seq !== 'number') return false;
    let change: StateChange;
    if (event.type === 'STATE_SNAPSHOT') {
      change = { value: event.snapshot ?? null, seq, kind: 'snapshot', resumed };
    } else if (event.type === 'STATE_DELTA' && Array.isArray(event.delta)) {
      if (this.currentValue === undefined) throw this.outOfStep('a delta before any snapshot');
      let value: Json;
      try {
        value = applyPatch(this.currentValue, event.delta);
      } catch (cause) {
        throw this.outOfStep(`a delta that does not apply at seq ${this.currentSeq}`, cause);
      }
      change = { value, seq, kind: 'delta', patch: event.delta, resumed };
    } else {
      return false;
    }
    this.currentValue = change.value;
    this.currentSeq = seq;
    this.client.observe(this.docId, seq);
    this.settleFirst?.resolve(change.value);
    this.options.onChange?.(change);
    for (const listener of this.listeners) listener(change);
    return true;
  }

  /** The stream and the value fell out of step: start over from a snapshot on the next connection. */
  private outOfStep(what: string, cause?: unknown): YStateClientError {
    this.currentSeq = undefined;
    this.currentValue = undefined;
    return new YStateClientError({ code: 'INVALID_RESPONSE', message: `the server sent ${what}`, cause });
  }

  private mayRetry(error: YStateClientError): boolean {
    if (error.retryable || error.code === 'INVALID_RESPONSE') return true;
    return error.status === 401 && typeof this.client.options.token === 'function';
  }

  private backoffMs(attempt: number): number {
    const initial = this.options.backoff?.initialMs ?? 250;
    const max = this.options.backoff?.maxMs ?? 10_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    // Full jitter above half the ceiling: reconnecting clients do not arrive together.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stop.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.currentStatus === status) return;
    this.currentStatus = status;
    this.options.onStatus?.(status);
  }
}

function asClientError(error: unknown): YStateClientError {
  if (isYStateClientError(error)) return error;
  return new YStateClientError({
    code: 'NETWORK_ERROR',
    message: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}
