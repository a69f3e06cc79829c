/**
 * `RedisUpdateLog`: a document's log is a Redis list of entry frames. One Lua script numbers a
 * batch, pushes it and publishes it (PUBLISH, or SPUBLISH on a cluster) in one atomic step;
 * concurrent appends share a pipeline (ioredis auto-pipelining). Trimming raises a base offset in
 * the same script, so seq → list index stays exact. Checkpoints live in a sorted set beside the
 * list, stored under a short lease. Key layout: docs/redis.md.
 */

import { randomUUID } from 'node:crypto';
import {
  copyEntry,
  type EntryInput,
  ErrorCode,
  type LogEntry,
  type SeqRange,
  type UpdateLog,
  YStateError,
} from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, scanKeys } from './connection.js';
import { checkEntry, decodeFrame, invalid, numberedFrame, unavailable, unnumberedFrame } from './frames.js';
import {
  checkDocId,
  checkPrefix,
  DEFAULT_PREFIX,
  docIdOfLogKey,
  documentKeyPattern,
  documentKeys,
} from './keys.js';
import { isBeyondHead, type ScriptCommands, withScripts } from './scripts.js';

export interface RedisUpdateLogOptions {
  /** The command connection (auto-pipelining recommended). The log does not close it. */
  redis: Redis | Cluster;
  /** Prepended to every key and channel (default `ystate:`); must not contain braces. */
  prefix?: string;
  /**
   * How long a node that stored a checkpoint holds the document's checkpoint lease (default
   * 10,000 ms). While another node holds it, `storeCheckpoint` stores nothing. 0 disables the lease.
   */
  checkpointLeaseMs?: number;
  /** This log's lease holder id (default: a random UUID). */
  leaseToken?: string;
  /** Most entries fetched per round trip by `read` (default 10,000). */
  readPageSize?: number;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** An `UpdateLog` on Redis in the ystate key layout. */
export class RedisUpdateLog implements UpdateLog {
  /** The append script publishes on the document's channel: the engine must not publish again. */
  readonly publishesAppends = true;
  readonly prefix: string;
  private readonly redis: Redis | Cluster;
  private readonly commands: ScriptCommands;
  private readonly publishCommand: 'publish' | 'spublish';
  private readonly leaseMs: number;
  private readonly leaseToken: string;
  private readonly pageSize: number;
  private closed = false;

  constructor(options: RedisUpdateLogOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    checkPrefix(this.prefix, 'ystate');
    this.redis = options.redis;
    this.commands = withScripts(options.redis);
    // Sharded Pub/Sub on a cluster: the message stays on the shard that owns the document.
    this.publishCommand = isCluster(options.redis) ? 'spublish' : 'publish';
    this.leaseMs = options.checkpointLeaseMs ?? 10_000;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 0) {
      throw new YStateError({
        code: ErrorCode.INVALID_CONFIG,
        message: `checkpointLeaseMs must be a non-negative integer, got ${this.leaseMs}`,
      });
    }
    this.leaseToken = options.leaseToken ?? randomUUID();
    this.pageSize = options.readPageSize ?? 10_000;
  }

  /** Appends a batch in one script call; resolves once Redis has it (and has published it). */
  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.assertOpen();
    checkDocId(docId);
    // Validate and encode the whole batch before sending, so a bad entry appends nothing.
    const frames = entries.map((entry, index) => {
      checkEntry(entry, `entry ${index} for "${docId}"`);
      return unnumberedFrame(entry);
    });
    if (frames.length === 0) return [];
    const keys = documentKeys(this.prefix, docId);
    let first: number;
    try {
      first = await this.commands.ystateAppend(
        keys.log,
        keys.base,
        this.publishCommand,
        keys.channel,
        ...frames,
      );
    } catch (cause) {
      throw unavailable(cause, `appending ${frames.length} entries to "${docId}"`);
    }
    // Stored copies that own their payloads (callers may reuse their buffers).
    return entries.map((entry, i) => copyEntry({ ...entry, seq: first + i }));
  }

  async read(docId: string, range: SeqRange = {}): Promise<LogEntry[]> {
    this.assertOpen();
    checkDocId(docId);
    if (Number.isNaN(range.from) || Number.isNaN(range.to))
      throw invalid('read: range bounds must be numbers');
    const from = Math.max(1, Math.ceil(range.from ?? 1));
    const to = Math.min(MAX_SEQ, Math.floor(range.to ?? MAX_SEQ));
    if (to < from || from > MAX_SEQ) return [];
    const keys = documentKeys(this.prefix, docId);
    // Pages keep replies (and the time Redis spends on each) bounded. A prune between two pages
    // would leave a hole: then read again from the start, which sees the new base.
    for (;;) {
      const entries: LogEntry[] = [];
      let next = from;
      let consistent = true;
      while (next <= to) {
        const last = Math.min(to, next + this.pageSize - 1);
        let reply: [number, number, Buffer[]];
        try {
          reply = await this.commands.ystateReadBuffer(keys.log, keys.base, String(next), String(last));
        } catch (cause) {
          throw unavailable(cause, `reading "${docId}"`);
        }
        const [head, first, frames] = reply;
        // A first seq past `next` means the front was pruned: fine before anything was read.
        if (entries.length > 0 && first !== next) {
          consistent = false;
          break;
        }
        frames.forEach((frame, i) => {
          entries.push(decodeFrame(frame, docId, first + i));
        });
        next = first + frames.length;
        if (next > Math.min(to, head)) break;
      }
      if (consistent) return entries;
    }
  }

  async head(docId: string): Promise<number> {
    this.assertOpen();
    checkDocId(docId);
    const keys = documentKeys(this.prefix, docId);
    try {
      return await this.commands.ystateHead(keys.log, keys.base);
    } catch (cause) {
      throw unavailable(cause, `reading the head of "${docId}"`);
    }
  }

  async latestCheckpoint(
    docId: string,
    atOrBefore = Number.POSITIVE_INFINITY,
  ): Promise<LogEntry | undefined> {
    this.assertOpen();
    checkDocId(docId);
    if (Number.isNaN(atOrBefore)) throw invalid('latestCheckpoint: atOrBefore must be a number');
    const max = atOrBefore === Number.POSITIVE_INFINITY ? '+inf' : String(Math.floor(atOrBefore));
    let frames: Buffer[];
    try {
      frames = await this.redis.zrevrangebyscoreBuffer(
        documentKeys(this.prefix, docId).checkpoints,
        max,
        '-inf',
        'LIMIT',
        0,
        1,
      );
    } catch (cause) {
      throw unavailable(cause, `reading the checkpoints of "${docId}"`);
    }
    const [frame] = frames;
    return frame === undefined ? undefined : decodeFrame(frame, docId);
  }

  /**
   * Stores a checkpoint beside the log, replacing one at the same seq, under the document's
   * checkpoint lease: while another node holds the lease this resolves without storing (that node
   * checkpoints the document). Throws INVALID_VALUE unless it is a `checkpoint` entry whose seq
   * names an appended entry.
   */
  async storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
    const where = `checkpoint for "${docId}"`;
    checkEntry(checkpoint, where);
    if (checkpoint.kind !== 'checkpoint')
      throw invalid(`${where}: kind must be "checkpoint", got "${checkpoint.kind}"`);
    if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1) {
      throw invalid(`${where}: seq ${checkpoint.seq} does not name an appended entry`);
    }
    const keys = documentKeys(this.prefix, docId);
    try {
      await this.commands.ystateStoreCheckpoint(
        keys.log,
        keys.base,
        keys.checkpoints,
        keys.lease,
        String(checkpoint.seq),
        numberedFrame(checkpoint),
        this.leaseToken,
        String(this.leaseMs),
      );
    } catch (cause) {
      if (isBeyondHead(cause)) throw invalid(`${where}: seq ${checkpoint.seq} is beyond the head of the log`);
      throw unavailable(cause, `storing a checkpoint of "${docId}"`);
    }
  }

  async prune(docId: string, seq: number): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
    if (Number.isNaN(seq)) throw invalid('prune: seq must be a number');
    const bound = Math.min(MAX_SEQ, Math.max(0, Math.ceil(seq)));
    const keys = documentKeys(this.prefix, docId);
    try {
      await this.commands.ystatePrune(keys.log, keys.base, keys.checkpoints, String(bound));
    } catch (cause) {
      throw unavailable(cause, `pruning "${docId}"`);
    }
  }

  /** Every document with a log, found by SCAN over every master (no global set to keep in step). */
  async docIds(): Promise<string[]> {
    this.assertOpen();
    let keys: string[];
    try {
      keys = await scanKeys(this.redis, documentKeyPattern(this.prefix));
    } catch (cause) {
      throw unavailable(cause, 'listing documents');
    }
    const ids = new Set<string>();
    for (const key of keys) {
      const docId = docIdOfLogKey(this.prefix, key);
      if (docId !== undefined) ids.add(docId);
    }
    return [...ids];
  }

  /** Refuses further calls with DOCUMENT_CLOSED. The connection belongs to whoever made it. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the update log is closed' });
  }
}
