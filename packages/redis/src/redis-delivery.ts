/**
 * Redis's `DeliveryStore`: per webhook subscription, keys in one hash tag (one cluster slot):
 * `<prefix>webhook:{<id>}:cursors` (HASH docId → seq, raised by a script that never lowers it),
 * `…:lease` (STRING holding the holder, with a PX expiry: one node delivers a subscription), and
 * `…:status` (STRING, JSON). `<prefix>webhooks` (SET) lists the subscriptions. See docs/redis.md.
 */

import type { DeliveryStatus, DeliveryStore } from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_PREFIX } from './keys.js';

/** Raises a cursor: HSET only when the field is missing or lower. */
const ADVANCE = `local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if current == nil or current < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0`;

/** Takes the lease when it is free or already the holder's, for PX milliseconds. */
const LEASE = `local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Deletes the lease only when it is the holder's. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

/** Where a `RedisDeliveryStore` keeps its keys. */
export interface RedisDeliveryStoreOptions {
  redis: Redis | Cluster;
  /** Key prefix (default `ystate:`). */
  prefix?: string;
}

/** Delivery state shared by every node on one Redis (or Redis Cluster). */
export class RedisDeliveryStore implements DeliveryStore {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;

  /** A delivery store on `options.redis` (a single Redis or a Cluster), under `options.prefix`. */
  constructor(options: RedisDeliveryStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  async cursors(subscription: string): Promise<Map<string, number>> {
    const fields = await this.redis.hgetall(this.key(subscription, 'cursors'));
    return new Map(Object.entries(fields).map(([docId, seq]) => [docId, Number(seq)]));
  }

  async advance(subscription: string, docId: string, seq: number): Promise<void> {
    await this.remember(subscription);
    await this.redis.eval(ADVANCE, 1, this.key(subscription, 'cursors'), docId, String(seq));
  }

  async lease(subscription: string, holder: string, ttlMs: number): Promise<boolean> {
    const taken = await this.redis.eval(LEASE, 1, this.key(subscription, 'lease'), holder, String(ttlMs));
    return taken === 1;
  }

  async release(subscription: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(subscription, 'lease'), holder);
  }

  async status(subscription: string): Promise<DeliveryStatus | undefined> {
    const text = await this.redis.get(this.key(subscription, 'status'));
    return text === null ? undefined : (JSON.parse(text) as DeliveryStatus);
  }

  async saveStatus(subscription: string, status: DeliveryStatus): Promise<void> {
    await this.remember(subscription);
    await this.redis.set(this.key(subscription, 'status'), JSON.stringify(status));
  }

  async subscriptions(): Promise<string[]> {
    return (await this.redis.smembers(`${this.prefix}webhooks`)).sort();
  }

  private async remember(subscription: string): Promise<void> {
    await this.redis.sadd(`${this.prefix}webhooks`, subscription);
  }

  private key(subscription: string, part: 'cursors' | 'lease' | 'status'): string {
    return `${this.prefix}webhook:{${subscription}}:${part}`;
  }
}
