/**
 * The subscriber side of a node: one connection (per cluster master with sharded Pub/Sub) that
 * carries every channel this node listens to. Re-subscribing after a dropped connection is done
 * here rather than by ioredis, so that `reconnected` is reported only once the channels are
 * subscribed again: a catch-up read after that misses nothing.
 */

import type { Cluster, Redis } from 'ioredis';
import { masters, nodeKeyOf, ready, retryNotRun, retryStrategy } from './connection.js';
import { keySlot } from './keys.js';

export interface SubscriberEvents {
  message(channel: string, message: Buffer): void;
  /** The connection came back and every channel is subscribed again. */
  reconnected(): void;
  error(error: unknown, context: string): void;
}

/** Channels on Redis Pub/Sub. Reference counting happens above, in the bus. */
export interface Subscriber {
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  close(): Promise<void>;
}

const subscriberOptions = {
  // We re-subscribe ourselves, to know when it is done.
  autoResubscribe: false,
  // On every (re)connect ioredis sends CLIENT SETINFO and then an INFO ready check; a SUBSCRIBE
  // that goes out between them puts the connection in subscriber mode, the check fails ("only
  // subscriber commands may be used") and ioredis drops the connection, failing the first rooms
  // of a starting node (ioredis 5.8+, redis/ioredis#2037; seen by bench/reconnect-storm.mjs as 4503s
  // on a just-started node under load, not reproducible on demand). A subscriber needs neither.
  enableReadyCheck: false,
  disableClientInfo: true,
  enableAutoPipelining: false,
  lazyConnect: false,
  retryStrategy,
} as const;

/** SUBSCRIBE on one connection: a single Redis, or any one node of a cluster (classic Pub/Sub spans it). */
export class PlainSubscriber implements Subscriber {
  private readonly channels = new Set<string>();
  private connectedOnce = false;

  private constructor(
    private readonly connection: Redis,
    private readonly events: SubscriberEvents,
  ) {
    connection.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      events.message(channel.toString(), message),
    );
    connection.on('ready', () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        return;
      }
      void this.resubscribe();
    });
    connection.on('error', (error: unknown) => events.error(error, 'subscriber connection'));
  }

  /** A subscriber on a duplicate of `redis` (for a cluster, of its first master). */
  static async create(redis: Redis | Cluster, events: SubscriberEvents): Promise<PlainSubscriber> {
    const [node] = await masters(redis);
    if (node === undefined) throw new Error('the cluster has no master to subscribe on');
    return new PlainSubscriber(
      node.duplicate({ ...subscriberOptions, connectionName: 'ystate-subscriber' }),
      events,
    );
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    try {
      await this.connection.subscribe(channel);
    } catch (error) {
      this.channels.delete(channel);
      throw error;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    await this.connection.unsubscribe(channel);
  }

  async close(): Promise<void> {
    this.channels.clear();
    this.connection.disconnect();
  }

  private async resubscribe(): Promise<void> {
    try {
      if (this.channels.size > 0) await this.connection.subscribe(...this.channels);
      this.events.reconnected();
    } catch (error) {
      // The connection dropped again; its next 'ready' tries again.
      this.events.error(error, 'resubscribe');
    }
  }
}

interface Shard {
  readonly key: string;
  readonly connection: Redis;
  readonly channels: Set<string>;
  /** Rejects the SSUBSCRIBEs sent on this connection and not answered yet (see `ssubscribe`). */
  readonly pending: Set<(error: Error) => void>;
  connectedOnce: boolean;
}

/** An SSUBSCRIBE Redis answered with `MOVED`: the slot map this subscriber read is stale. */
class MovedError extends Error {}

/**
 * SSUBSCRIBE on a cluster: one connection per master, each carrying the channels whose slot that
 * master owns. After a connection comes back, or the slot map changes, channels are subscribed
 * where they now belong, then `reconnected` is reported. When Redis itself drops a shard's
 * subscriptions (it sends an unrequested SUNSUBSCRIBE when a slot stops being the node's: a
 * failover made it a replica, or a reshard moved the slot), that shard's connection is replaced
 * and its channels subscribed again where the refreshed slot map says they belong. An SSUBSCRIBE
 * sent where a stale slot map pointed (Redis answers `MOVED`) is sent again after a refresh.
 */
export class ShardedSubscriber implements Subscriber {
  private readonly shards = new Map<string, Shard>();
  private readonly owners = new Map<string, string>();
  /** Shards whose subscriptions Redis dropped, waiting to be replaced. */
  private readonly dropped = new Set<Shard>();
  /** Channels of dropped shards not subscribed again yet (an unsubscribe meanwhile removes one). */
  private readonly moving = new Set<string>();
  private replacing: Promise<void> | undefined;
  private closed = false;
  private readonly onRefresh = () => {
    void this.rebalance();
  };

  constructor(
    private readonly cluster: Cluster,
    private readonly events: SubscriberEvents,
  ) {
    cluster.on('refresh', this.onRefresh);
  }

  async subscribe(channel: string): Promise<void> {
    await ready(this.cluster);
    await this.place(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.moving.delete(channel);
    const key = this.owners.get(channel);
    this.owners.delete(channel);
    const shard = key === undefined ? undefined : this.shards.get(key);
    if (shard === undefined) return;
    shard.channels.delete(channel);
    await shard.connection.sunsubscribe(channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cluster.off('refresh', this.onRefresh);
    for (const shard of this.shards.values()) shard.connection.disconnect();
    this.shards.clear();
    this.owners.clear();
  }

  private ownerOf(channel: string): string {
    const owner = this.cluster.slots[keySlot(channel)]?.[0];
    if (owner === undefined) throw new Error(`no cluster node serves the slot of "${channel}"`);
    return owner;
  }

  /**
   * Subscribes `channel` where the slot map says its slot is; while Redis answers that the map is
   * stale (`MOVED`: a reshard seen through a node that has not heard of it yet), refreshes the map
   * and tries again, as commands do (`retryNotRun`).
   */
  private place(channel: string): Promise<void> {
    return retryNotRun(this.cluster, () => this.subscribeAt(channel, this.ownerOf(channel)));
  }

  private async subscribeAt(channel: string, key: string): Promise<void> {
    const shard = this.shardFor(key);
    this.owners.set(channel, key);
    shard.channels.add(channel);
    try {
      await this.ssubscribe(shard, channel);
    } catch (error) {
      if (this.owners.get(channel) === key) this.owners.delete(channel);
      shard.channels.delete(channel);
      throw error;
    }
  }

  /**
   * SSUBSCRIBE on `shard`, rejecting with `MovedError` when the connection reports a `MOVED`
   * answer while it is pending. The event does not say which command met it, so every pending
   * SSUBSCRIBE of the shard fails and is placed again (subscribing twice is harmless).
   */
  private ssubscribe(shard: Shard, channel: string): Promise<void> {
    let fail: (error: Error) => void = () => undefined;
    const moved = new Promise<never>((_, reject) => {
      fail = reject;
    });
    shard.pending.add(fail);
    return Promise.race([shard.connection.ssubscribe(channel).then(() => undefined), moved]).finally(() =>
      shard.pending.delete(fail),
    );
  }

  private shardFor(key: string): Shard {
    const existing = this.shards.get(key);
    if (existing) return existing;
    const node = this.cluster.nodes('master').find((candidate) => nodeKeyOf(candidate) === key);
    const [host, port] = splitNodeKey(key);
    // A duplicate of the cluster's own node connection keeps its TLS, auth and NAT settings.
    const connection = node
      ? node.duplicate({ ...subscriberOptions, connectionName: 'ystate-ssubscriber' })
      : this.cluster
          .nodes('all')[0]
          ?.duplicate({ ...subscriberOptions, host, port, connectionName: 'ystate-ssubscriber' });
    if (connection === undefined) throw new Error(`no connection options for cluster node ${key}`);
    const shard: Shard = { key, connection, channels: new Set(), pending: new Set(), connectedOnce: false };
    // ioredis drops an SSUBSCRIBE answered with MOVED without settling it, and says only `moved`.
    connection.on('moved', () => {
      for (const reject of shard.pending) reject(new MovedError(`MOVED: ${key} does not serve a slot`));
    });
    connection.on('smessageBuffer', (channel: Buffer, message: Buffer) =>
      this.events.message(channel.toString(), message),
    );
    connection.on('ready', () => {
      if (!shard.connectedOnce) {
        shard.connectedOnce = true;
        return;
      }
      void this.resubscribe(shard);
    });
    connection.on('error', (error: unknown) => {
      // ioredis does not expect an unrequested SUNSUBSCRIBE and reports it as a "Command queue
      // state error" whose last reply is the sunsubscribe: Redis dropped this shard's channels.
      if (error instanceof Error && /Last reply: sunsubscribe,/.test(error.message)) this.drop(shard);
      else this.events.error(error, `sharded subscriber ${key}`);
    });
    this.shards.set(key, shard);
    return shard;
  }

  /** Redis dropped `shard`'s subscriptions: replace it once the burst of its SUNSUBSCRIBEs is over. */
  private drop(shard: Shard): void {
    if (this.closed || this.shards.get(shard.key) !== shard) return;
    this.dropped.add(shard);
    this.replacing ??= new Promise<void>((resolve) => setTimeout(resolve, 20))
      .then(() => this.replaceDropped())
      .finally(() => {
        this.replacing = undefined;
      });
  }

  /**
   * Closes the dropped shards' connections (ioredis's idea of their state is wrong now), refreshes
   * the slot map, subscribes their channels where they now belong (retrying while the cluster
   * settles, up to 10 s), then reports a reconnect so that the engines catch up from the log.
   */
  private async replaceDropped(): Promise<void> {
    const channels: string[] = [];
    for (const shard of this.dropped) {
      this.shards.delete(shard.key);
      shard.connection.disconnect();
      for (const channel of shard.channels) {
        if (this.owners.get(channel) === shard.key) this.owners.delete(channel);
        channels.push(channel);
        this.moving.add(channel);
      }
    }
    this.dropped.clear();
    const deadline = Date.now() + 10_000;
    let pending = channels;
    for (let attempt = 1; pending.length > 0 && !this.closed; attempt++) {
      await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
      const failed: string[] = [];
      let lastError: unknown;
      await Promise.all(
        pending.map(async (channel) => {
          if (!this.moving.has(channel)) return;
          try {
            await this.subscribeAt(channel, this.ownerOf(channel));
            this.moving.delete(channel);
          } catch (error) {
            failed.push(channel);
            lastError = error;
          }
        }),
      );
      pending = failed;
      if (pending.length > 0 && Date.now() > deadline) {
        this.events.error(lastError, `subscribing ${pending.length} channels again after Redis dropped them`);
        return;
      }
      if (pending.length > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
    }
    if (!this.closed) this.events.reconnected();
  }

  /** A shard's connection came back: subscribe its channels again, where they now belong. */
  private async resubscribe(shard: Shard): Promise<void> {
    try {
      await Promise.all(
        [...shard.channels].map(async (channel) => {
          if (this.ownerOf(channel) === shard.key) {
            try {
              await this.ssubscribe(shard, channel);
              return;
            } catch (error) {
              if (!(error instanceof MovedError)) throw error;
            }
          }
          shard.channels.delete(channel);
          await this.place(channel);
        }),
      );
      this.events.reconnected();
    } catch (error) {
      this.events.error(error, `resubscribe on ${shard.key}`);
    }
  }

  /** The slot map changed: move channels whose slot has a new owner, then report a reconnect. */
  private async rebalance(): Promise<void> {
    if (this.closed) return;
    const moves: Promise<void>[] = [];
    for (const [channel, key] of this.owners) {
      let owner: string;
      try {
        owner = this.ownerOf(channel);
      } catch {
        continue;
      }
      if (owner === key) continue;
      const old = this.shards.get(key);
      old?.channels.delete(channel);
      moves.push(
        (async () => {
          if (old?.connection.status === 'ready')
            await old.connection.sunsubscribe(channel).catch(() => undefined);
          await this.place(channel);
        })(),
      );
    }
    if (moves.length === 0) return;
    try {
      await Promise.all(moves);
      this.events.reconnected();
    } catch (error) {
      this.events.error(error, 'moving sharded subscriptions');
    }
  }
}

function splitNodeKey(key: string): [string, number] {
  const colon = key.lastIndexOf(':');
  return [key.slice(0, colon), Number(key.slice(colon + 1))];
}
