/**
 * `RedisSyncBus`: entries between nodes over Redis Pub/Sub (sharded Pub/Sub on a cluster). One
 * subscriber connection per node (per master on a cluster) carries every document's channels:
 * its entries channel and its signal channel (ephemeral messages such as awareness, never
 * logged). A channel is subscribed when it gets its first listener and unsubscribed when it loses
 * its last. After the subscriber connection drops and comes back, `onReconnect` listeners are
 * called once the channels are subscribed again, so the engine reads what it missed from the log.
 */

import { randomBytes } from 'node:crypto';
import {
  type BusListener,
  ErrorCode,
  type LogEntry,
  type SignalListener,
  type SyncBus,
  YStateError,
} from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { isCluster } from './connection.js';
import {
  decodeMessage,
  decodeSignal,
  encodeMessage,
  encodeSignal,
  invalid,
  numberedFrame,
  unavailable,
} from './frames.js';
import {
  checkDocId,
  checkPrefix,
  DEFAULT_PREFIX,
  documentKeys,
  type RedisLayout,
  yRedisKeys,
} from './keys.js';
import { PlainSubscriber, ShardedSubscriber, type Subscriber, type SubscriberEvents } from './subscriber.js';
import { toEntry } from './y-redis-log.js';

/** Options of `new RedisSyncBus(options)`. */
export interface RedisSyncBusOptions {
  /** The command connection, used to publish; subscriber connections are made from its settings. */
  redis: Redis | Cluster;
  /** Same as the log's: `ystate:` for the ystate layout, '' for y-redis. */
  prefix?: string;
  /** Which channels and messages to use (default 'ystate'). */
  layout?: RedisLayout;
  /** Failures with no caller: undecodable messages, listener errors, connection errors. */
  onError?: (error: unknown, context: string) => void;
  /** y-redis layout: most updates fetched from the list for one message (default 1,000). */
  maxFetch?: number;
}

/** What a channel carries: a document's entries, or its signals. */
type ChannelKind = 'entries' | 'signals';

interface ListenerOf {
  entries: BusListener;
  signals: SignalListener;
}

interface Listening<K extends ChannelKind> {
  readonly listener: ListenerOf[K];
}

/** One Pub/Sub channel this bus listens to, reference counted by its listeners. */
interface Channel<K extends ChannelKind = ChannelKind> {
  readonly kind: K;
  readonly docId: string;
  readonly name: string;
  readonly listeners: Set<Listening<K>>;
  subscribed: boolean;
  /** Subscribe/unsubscribe calls of this channel, one after another. */
  op: Promise<void>;
  /** y-redis layout, entries: fetches of published updates, in message order. */
  fetch: Promise<void>;
  /** y-redis layout, entries: the highest seq delivered so far. */
  delivered: number;
}

type AnyChannel = Channel<'entries'> | Channel<'signals'>;

/** A `SyncBus` on Redis Pub/Sub. */
export class RedisSyncBus implements SyncBus {
  readonly prefix: string;
  readonly layout: RedisLayout;
  /** This bus's id in the signals it sends, so that it skips its own. */
  readonly senderId = randomBytes(8).toString('hex');
  private readonly redis: Redis | Cluster;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly maxFetch: number;
  /** Channel name → channel, of both kinds. */
  private readonly channels = new Map<string, AnyChannel>();
  private readonly reconnectListeners = new Set<() => void>();
  private subscriber: Promise<Subscriber> | undefined;
  private closed = false;

  /** A bus on the Redis of `options.redis`; subscriber connections are made on first use. */
  constructor(options: RedisSyncBusOptions) {
    this.layout = options.layout ?? 'ystate';
    this.prefix = options.prefix ?? (this.layout === 'ystate' ? DEFAULT_PREFIX : '');
    checkPrefix(this.prefix, this.layout);
    this.redis = options.redis;
    this.onError = options.onError ?? (() => undefined);
    this.maxFetch = options.maxFetch ?? 1000;
  }

  /** Publishes entries already in the log (the Redis log's append script does this itself). */
  async publish(docId: string, entries: readonly LogEntry[]): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
    if (entries.length === 0) return;
    let message: Buffer | string;
    if (this.layout === 'y-redis') {
      // y-redis announces the new list length; receivers read the list.
      message = String(Math.max(...entries.map((entry) => entry.seq)));
    } else {
      message = encodeMessage(entries.map(numberedFrame));
    }
    await this.send(this.channelOf('entries', docId), message, `publishing to "${docId}"`);
  }

  async subscribe(docId: string, listener: BusListener): Promise<() => Promise<void>> {
    return this.listen('entries', docId, listener, `subscribing to "${docId}"`);
  }

  /**
   * Sends an ephemeral message (y-websocket awareness, say) to the other nodes' signal listeners
   * of the document, never to this bus's own. Not logged; lost for nodes whose subscriber
   * connection is down at the time.
   */
  async signal(docId: string, message: Uint8Array): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
    if (!(message instanceof Uint8Array)) throw invalid('signal: the message must be a Uint8Array');
    await this.send(
      this.channelOf('signals', docId),
      encodeSignal(this.senderId, message),
      `signalling "${docId}"`,
    );
  }

  async onSignal(docId: string, listener: SignalListener): Promise<() => Promise<void>> {
    return this.listen('signals', docId, listener, `listening for signals of "${docId}"`);
  }

  onReconnect(listener: () => void): () => void {
    const wrapped = () => listener();
    this.reconnectListeners.add(wrapped);
    return () => {
      this.reconnectListeners.delete(wrapped);
    };
  }

  /** Drops every subscription and the subscriber connections. The command connection stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const channel of this.channels.values()) channel.listeners.clear();
    this.channels.clear();
    this.reconnectListeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await (await subscriber.catch(() => undefined))?.close();
  }

  private channelOf(kind: ChannelKind, docId: string): string {
    const keys = this.layout === 'ystate' ? documentKeys(this.prefix, docId) : yRedisKeys(this.prefix, docId);
    return kind === 'entries' ? keys.channel : keys.signal;
  }

  /** PUBLISH (SPUBLISH in the ystate layout on a cluster: the channel stays on its shard). */
  private async send(channel: string, message: Buffer | string, what: string): Promise<void> {
    try {
      if (this.layout === 'ystate' && isCluster(this.redis)) await this.redis.spublish(channel, message);
      else await this.redis.publish(channel, message);
    } catch (cause) {
      throw unavailable(cause, what);
    }
  }

  /**
   * Adds a listener to a document's channel of `kind`, subscribing the channel for its first
   * listener. Resolves, once subscribed, with the function that removes the listener again (and
   * unsubscribes the channel after its last).
   */
  private async listen<K extends ChannelKind>(
    kind: K,
    docId: string,
    listener: ListenerOf[K],
    what: string,
  ): Promise<() => Promise<void>> {
    this.assertOpen();
    checkDocId(docId);
    const name = this.channelOf(kind, docId);
    // A channel's kind follows from its name, except for the collision refused below.
    let channel = this.channels.get(name) as Channel<K> | undefined;
    if (channel === undefined) {
      channel = {
        kind,
        docId,
        name,
        listeners: new Set(),
        subscribed: false,
        op: Promise.resolve(),
        fetch: Promise.resolve(),
        delivered: 0,
      };
      this.channels.set(name, channel as AnyChannel);
    } else if (channel.kind !== kind) {
      // Only in the y-redis layout: "<name>:ystate-signal" is also a document's entries channel.
      throw invalid(
        `${what}: channel "${name}" already carries the ${channel.kind} of "${channel.docId}" on this bus`,
      );
    }
    const listening: Listening<K> = { listener };
    channel.listeners.add(listening);
    try {
      await this.reconcile(channel);
    } catch (cause) {
      channel.listeners.delete(listening);
      this.reconcile(channel).catch((error) => this.onError(error, `unsubscribing "${name}"`));
      throw unavailable(cause, what);
    }
    return async () => {
      if (!channel.listeners.delete(listening) || this.closed) return;
      await this.reconcile(channel);
    };
  }

  /** Brings the channel's subscription in line with its listeners, one change at a time. */
  private reconcile(channel: Channel): Promise<void> {
    const next = channel.op
      .catch(() => undefined)
      .then(async () => {
        const wanted = channel.listeners.size > 0 && !this.closed;
        if (wanted && !channel.subscribed) {
          await (await this.subscriberConnection()).subscribe(channel.name);
          channel.subscribed = true;
        } else if (!wanted && channel.subscribed) {
          channel.subscribed = false;
          if (!this.closed) await (await this.subscriberConnection()).unsubscribe(channel.name);
        }
        if (
          channel.listeners.size === 0 &&
          !channel.subscribed &&
          this.channels.get(channel.name) === channel
        ) {
          this.channels.delete(channel.name);
        }
      });
    channel.op = next;
    return next;
  }

  private subscriberConnection(): Promise<Subscriber> {
    if (this.subscriber === undefined) {
      const events: SubscriberEvents = {
        message: (name, message) => this.receive(name, message),
        reconnected: () => {
          for (const listener of [...this.reconnectListeners]) {
            try {
              listener();
            } catch (error) {
              this.onError(error, 'reconnect listener');
            }
          }
        },
        error: (error, context) => this.onError(error, context),
      };
      const redis = this.redis;
      this.subscriber =
        this.layout === 'ystate' && isCluster(redis)
          ? Promise.resolve(new ShardedSubscriber(redis, events))
          : PlainSubscriber.create(redis, events);
      // A failed creation is retried by the next subscribe.
      this.subscriber.catch(() => {
        this.subscriber = undefined;
      });
    }
    return this.subscriber;
  }

  private receive(name: string, message: Buffer): void {
    const channel = this.channels.get(name);
    if (channel === undefined || channel.listeners.size === 0) return;
    if (channel.kind === 'signals') {
      this.receiveSignal(channel, message);
      return;
    }
    if (this.layout === 'y-redis') {
      this.fetchAnnounced(channel, message.toString());
      return;
    }
    let entries: LogEntry[];
    try {
      entries = decodeMessage(message, channel.docId);
    } catch (error) {
      // Receivers fill the gap from the log when the next entry arrives.
      this.onError(error, `message for "${channel.docId}"`);
      return;
    }
    this.deliver(channel, entries);
  }

  private receiveSignal(channel: Channel<'signals'>, bytes: Buffer): void {
    let signal: ReturnType<typeof decodeSignal>;
    try {
      signal = decodeSignal(bytes, channel.docId);
    } catch (error) {
      this.onError(error, `signal for "${channel.docId}"`);
      return;
    }
    // Redis echoes what this bus published to its own subscription: skip it.
    if (signal.sender === this.senderId) return;
    for (const target of [...channel.listeners]) {
      // Removed by an earlier listener of this delivery: nothing more arrives.
      if (!channel.listeners.has(target)) continue;
      try {
        // Each listener gets its own copy (the message is a view into the socket's buffer).
        target.listener(new Uint8Array(signal.message));
      } catch (error) {
        this.onError(error, `signal listener of "${channel.docId}"`);
      }
    }
  }

  /** y-redis announces a list length: fetch the updates this bus has not delivered yet. */
  private fetchAnnounced(channel: Channel<'entries'>, announced: string): void {
    const key = yRedisKeys(this.prefix, channel.docId).updates;
    channel.fetch = channel.fetch
      .then(async () => {
        const length = Number(announced);
        const last = Number.isSafeInteger(length) && length > 0 ? length : await this.redis.llen(key);
        const from = Math.max(channel.delivered + 1, last - this.maxFetch + 1, 1);
        if (from > last) return;
        const updates = await this.redis.lrangeBuffer(key, from - 1, last - 1);
        if (updates.length === 0) return;
        channel.delivered = Math.max(channel.delivered, from + updates.length - 1);
        this.deliver(
          channel,
          updates.map((update, i) => toEntry(update, from + i)),
        );
      })
      .catch((error) => this.onError(error, `fetching updates of "${channel.docId}"`));
  }

  private deliver(channel: Channel<'entries'>, entries: readonly LogEntry[]): void {
    const targets = [...channel.listeners];
    for (const target of targets) {
      // Unsubscribed by an earlier listener of this delivery: nothing more arrives.
      if (!channel.listeners.has(target)) continue;
      try {
        // Each listener gets its own copies, so one cannot change what another sees.
        target.listener(targets.length === 1 ? entries : entries.map(copy));
      } catch (error) {
        this.onError(error, `listener of "${channel.docId}"`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the sync bus is closed' });
  }
}

function copy(entry: LogEntry): LogEntry {
  return { ...entry, payload: new Uint8Array(entry.payload) };
}
