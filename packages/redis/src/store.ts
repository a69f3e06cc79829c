/** `createRedisStore`: the log and the bus of one node, on connections made and closed together. */

import { type DeliveryStore, ErrorCode, type SyncBus, type UpdateLog, YStateError } from '@ystate/core';
import { type CodecOptions, withBusCodecs, withCodecs } from '@ystate/core/codecs';
import type { Cluster, Redis } from 'ioredis';
import { connect, type RedisConnectionConfig } from './connection.js';
import type { RedisLayout } from './keys.js';
import { RedisSyncBus } from './redis-bus.js';
import { RedisDeliveryStore } from './redis-delivery.js';
import { RedisUpdateLog } from './redis-log.js';
import { YRedisUpdateLog } from './y-redis-log.js';

/** Options of `createRedisStore`. */
export interface RedisStoreOptions {
  /** Where Redis is: a URL, ioredis `RedisOptions`, or `{ nodes, ...ClusterOptions }` for a cluster. */
  redis: RedisConnectionConfig;
  /** Key and channel prefix (default `ystate:`; '' in the y-redis layout). */
  prefix?: string;
  /** 'ystate' (default) or 'y-redis' to share documents with y-redis 1.x deployments. */
  layout?: RedisLayout;
  /** How long a node that stored a checkpoint holds the document's lease (default 10,000 ms). */
  checkpointLeaseMs?: number;
  /** Compression and encryption of payloads, in the log and on the bus alike (ystate layout only). */
  codecs?: CodecOptions;
  /** Failures with no caller (connection errors, undecodable messages, listener errors). */
  onError?: (error: unknown, context: string) => void;
  /** Most entries fetched per round trip when reading (default 10,000). */
  readPageSize?: number;
}

/** One node's Redis store: pass `log` and `bus` to the Engine; `close` when done. */
export interface RedisStore {
  /** The update log (with the codecs applied, when configured). Its appends publish on the bus. */
  readonly log: UpdateLog;
  /** The bus (decoding what the codecs encoded, when configured). */
  readonly bus: SyncBus;
  /** Webhook delivery cursors, leases and status, shared by every node on this Redis. */
  readonly deliveries: DeliveryStore;
  /** The command connection (auto-pipelined), e.g. for health checks. */
  readonly redis: Redis | Cluster;
  /** Closes the log and the bus, then the connections. */
  close(): Promise<void>;
}

/** Connects to Redis (or a Redis Cluster) and makes the log and bus of one node. */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const layout = options.layout ?? 'ystate';
  if (layout !== 'ystate' && layout !== 'y-redis') {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `unknown Redis layout "${String(layout)}"`,
    });
  }
  if (layout === 'y-redis' && options.codecs) {
    // y-redis applies every list element as a Yjs update: it cannot read encoded payloads.
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: 'codecs cannot be used with the y-redis layout',
    });
  }
  const redis = connect(options.redis);
  const onError = options.onError ?? (() => undefined);
  // ioredis reports connection trouble as 'error' events; commands still reject for their callers.
  redis.on('error', (error: unknown) => onError(error, 'command connection'));
  const prefix = options.prefix;
  let log: UpdateLog;
  if (layout === 'y-redis') {
    log = new YRedisUpdateLog(withDefined({ redis, prefix, readPageSize: options.readPageSize }));
  } else {
    const raw = new RedisUpdateLog(
      withDefined({
        redis,
        prefix,
        checkpointLeaseMs: options.checkpointLeaseMs,
        readPageSize: options.readPageSize,
      }),
    );
    log = options.codecs ? withCodecs(raw, options.codecs) : raw;
  }
  // The append script publishes entries as stored: the bus decodes them with the same codecs.
  const rawBus = new RedisSyncBus(withDefined({ redis, prefix, layout, onError }));
  const bus = options.codecs ? withBusCodecs(rawBus, options.codecs) : rawBus;
  let closing: Promise<void> | undefined;
  return {
    log,
    bus,
    deliveries: new RedisDeliveryStore(withDefined({ redis, prefix })),
    redis,
    close() {
      closing ??= (async () => {
        await log.close();
        await bus.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** The object without its undefined properties (for `exactOptionalPropertyTypes`). */
function withDefined<T extends object>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
