/**
 * The contract of what webhook delivery keeps in the store beside the log: per subscription, a
 * cursor per document (the last seq its receiver acknowledged), a lease (which node delivers), and
 * a status (since when it delivers, what is failing). Delivery reads the changes from the log; the
 * cursor makes it resumable after a restart, an outage or a crash. `MemoryDeliveryStore` is the
 * in-process implementation; file, Redis and PostgreSQL have their own, and all run one acceptance
 * suite (`runDeliveryStoreTests` from `@ystate/core/testing`).
 */

/** A document that a subscription's deliveries to it are failing for. */
export interface DeliveryFailure {
  /** The first seq of the range that could not be delivered. */
  from: number;
  /** Failed attempts in a row. */
  attempts: number;
  /** What went wrong last (an HTTP status and reason, or a network error). */
  error: string;
  /** When the first failed attempt in a row was made (ms since the epoch). */
  since: number;
  /** When the next attempt is due (ms since the epoch). */
  retryAt: number;
}

/** A subscription's delivery status, as the node delivering it last wrote it. */
export interface DeliveryStatus {
  /** Changes written before this time (ms since the epoch) are not delivered: the subscription's start. */
  since: number;
  /** The node that wrote this status (the lease holder). */
  node: string;
  /** When it was written (ms since the epoch). */
  updatedAt: number;
  /** Documents whose deliveries are failing, by docId. */
  failing: Record<string, DeliveryFailure>;
}

/** Where webhook delivery keeps its cursors, leases and status. */
export interface DeliveryStore {
  /** The cursor of every document of a subscription that has one: the last seq delivered. */
  cursors(subscription: string): Promise<Map<string, number>>;
  /** Raises a document's cursor to `seq`; never lowers it (a late writer cannot move it back). */
  advance(subscription: string, docId: string, seq: number): Promise<void>;
  /**
   * Takes the subscription's lease for `holder` for `ttlMs`, or renews it when `holder` has it.
   * Resolves with false when another holder's lease has not expired: that node delivers.
   */
  lease(subscription: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up when `holder` has it (another node may take it at once). */
  release(subscription: string, holder: string): Promise<void>;
  /** The subscription's last written status, if any. */
  status(subscription: string): Promise<DeliveryStatus | undefined>;
  /** Replaces the subscription's status. */
  saveStatus(subscription: string, status: DeliveryStatus): Promise<void>;
  /** The subscriptions the store holds anything for. */
  subscriptions(): Promise<string[]>;
}

/** Delivery state in memory: for one process (tests, an engine without a durable store). */
export class MemoryDeliveryStore implements DeliveryStore {
  private readonly cursorMaps = new Map<string, Map<string, number>>();
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();
  private readonly statuses = new Map<string, DeliveryStatus>();

  async cursors(subscription: string): Promise<Map<string, number>> {
    return new Map(this.cursorMaps.get(subscription));
  }

  async advance(subscription: string, docId: string, seq: number): Promise<void> {
    const cursors = this.cursorMaps.get(subscription) ?? new Map<string, number>();
    this.cursorMaps.set(subscription, cursors);
    cursors.set(docId, Math.max(cursors.get(docId) ?? 0, seq));
  }

  async lease(subscription: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const current = this.leases.get(subscription);
    if (current !== undefined && current.holder !== holder && current.expiresAt > now) return false;
    this.leases.set(subscription, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async release(subscription: string, holder: string): Promise<void> {
    if (this.leases.get(subscription)?.holder === holder) this.leases.delete(subscription);
  }

  async status(subscription: string): Promise<DeliveryStatus | undefined> {
    const status = this.statuses.get(subscription);
    return status === undefined ? undefined : structuredClone(status);
  }

  async saveStatus(subscription: string, status: DeliveryStatus): Promise<void> {
    this.statuses.set(subscription, structuredClone(status));
  }

  async subscriptions(): Promise<string[]> {
    return [...new Set([...this.cursorMaps.keys(), ...this.statuses.keys()])].sort();
  }
}
