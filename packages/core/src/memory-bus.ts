/**
 * The in-process `SyncBus`: several "nodes" in one process (tests, a single server, a browser tab)
 * exchange entries through one hub. Delivery is asynchronous, like a real bus, and in publish order.
 */

import { ErrorCode, YStateError } from './errors.js';
import { copyEntry, type LogEntry } from './log-entry.js';
import type { BusListener, SignalListener, SyncBus } from './update-log.js';

/** Options of `new MemorySyncBus(options)`. */
export interface MemorySyncBusOptions {
  /**
   * Receives what a listener threw; the other listeners still get the entries. By default the
   * error is rethrown from its own task (`reportError` where the platform has it), so it is
   * reported as uncaught rather than lost.
   */
  onListenerError?: (error: unknown, docId: string) => void;
}

interface Subscription {
  readonly docId: string;
  readonly listener: BusListener;
  readonly owner: MemorySyncBus;
  active: boolean;
}

type Hub = Map<string, Set<Subscription>>;

interface SignalSubscription {
  readonly listener: SignalListener;
  readonly owner: MemorySyncBus;
}

/**
 * A `SyncBus` within one process. Nodes may share one instance, or each hold a `peer()` of it:
 * peers see each other's entries, and closing one ends only its own subscriptions.
 */
export class MemorySyncBus implements SyncBus {
  private hub: Hub = new Map();
  private signals = new Map<string, Set<SignalSubscription>>();
  private readonly own = new Set<Subscription>();
  private readonly options: MemorySyncBusOptions;
  private closed = false;

  /** A bus on a hub of its own; `peer()` makes more buses on the same hub. */
  constructor(options: MemorySyncBusOptions = {}) {
    this.options = options;
  }

  /** Another bus on the same hub, as a second node in this process would hold it. */
  peer(options: MemorySyncBusOptions = this.options): MemorySyncBus {
    const bus = new MemorySyncBus(options);
    bus.hub = this.hub;
    bus.signals = this.signals;
    return bus;
  }

  async publish(docId: string, entries: readonly LogEntry[]): Promise<void> {
    this.assertOpen();
    if (entries.length === 0) return;
    // Copy now: the publisher may reuse its buffers before the microtask runs.
    const published = entries.map(copyEntry);
    // Those subscribed when publishing are the audience; one microtask per publish keeps publish order.
    const targets = [...(this.hub.get(docId) ?? [])];
    queueMicrotask(() => {
      for (const subscription of targets) {
        // Unsubscribed or closed since publishing: nothing more arrives.
        if (!subscription.active) continue;
        try {
          // Each listener gets its own copies, so one cannot change what another sees.
          subscription.listener(published.map(copyEntry));
        } catch (error) {
          subscription.owner.reportListenerError(error, docId);
        }
      }
    });
  }

  async subscribe(docId: string, listener: BusListener): Promise<() => Promise<void>> {
    this.assertOpen();
    const subscription: Subscription = { docId, listener, owner: this, active: true };
    let subscribers = this.hub.get(docId);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.hub.set(docId, subscribers);
    }
    subscribers.add(subscription);
    this.own.add(subscription);
    return async () => this.unsubscribe(subscription);
  }

  /** Delivers an ephemeral message to the other buses' signal listeners for the document (not to this one's). */
  async signal(docId: string, message: Uint8Array): Promise<void> {
    this.assertOpen();
    const copy = new Uint8Array(message);
    const targets = [...(this.signals.get(docId) ?? [])].filter((s) => s.owner !== this);
    queueMicrotask(() => {
      for (const target of targets) {
        try {
          target.listener(new Uint8Array(copy));
        } catch (error) {
          target.owner.reportListenerError(error, docId);
        }
      }
    });
  }

  async onSignal(docId: string, listener: SignalListener): Promise<() => Promise<void>> {
    this.assertOpen();
    const subscription: SignalSubscription = { listener, owner: this };
    let listeners = this.signals.get(docId);
    if (listeners === undefined) {
      listeners = new Set();
      this.signals.set(docId, listeners);
    }
    listeners.add(subscription);
    return async () => {
      listeners.delete(subscription);
    };
  }

  /** Ends this bus's subscriptions, including deliveries already queued; later calls reject with DOCUMENT_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of this.own) this.unsubscribe(subscription);
  }

  private unsubscribe(subscription: Subscription): void {
    subscription.active = false;
    this.own.delete(subscription);
    const subscribers = this.hub.get(subscription.docId);
    if (subscribers === undefined) return;
    subscribers.delete(subscription);
    if (subscribers.size === 0) this.hub.delete(subscription.docId);
  }

  private reportListenerError(error: unknown, docId: string): void {
    const { onListenerError } = this.options;
    if (onListenerError !== undefined) {
      onListenerError(error, docId);
    } else if (typeof globalThis.reportError === 'function') {
      globalThis.reportError(error);
    } else {
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the sync bus is closed' });
    }
  }
}
