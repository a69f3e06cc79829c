/**
 * `RedisUpdateLog`: a document's log is a Redis list of entry frames. One Lua script numbers a
 * batch, pushes it and publishes it (PUBLISH, or SPUBLISH on a cluster) in one atomic step;
 * concurrent appends to a document are merged into one script call, and the calls of different
 * documents share a pipeline (ioredis auto-pipelining). Trimming raises a base offset in
 * the same script, so seq → list index stays exact. Checkpoints live in a sorted set beside the
 * list, stored under a short lease. Key layout: docs/redis.md.
 */

import { randomUUID } from 'node:crypto';
import {
  type EntryInput,
  ErrorCode,
  type LogEntry,
  type SeqRange,
  type UpdateLog,
  YStateError,
} from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, retryNotRun, scanKeys } from './connection.js';
import {
  checkEntry,
  decodeFrame,
  type EncodedAppend,
  encodeAppend,
  invalid,
  numberedFrame,
  unavailable,
} from './frames.js';
import {
  checkDocId,
  checkPrefix,
  DEFAULT_PREFIX,
  type DocumentKeys,
  docIdOfLogKey,
  documentKeyPattern,
  documentKeys,
} from './keys.js';
import { isBeyondHead, type ScriptCommands, withScripts } from './scripts.js';

/** Options of `new RedisUpdateLog(options)`. */
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

/**
 * Appends waiting for a document are merged into one script call up to this many entries and
 * bytes of frames (a single larger append still goes, alone and whole). Waiting appends that reach
 * either limit go at once, even while another call of the document is in flight, so bulk writers
 * keep many calls in one pipeline; the limits also bound how long one script call holds Redis.
 */
const MERGE_MAX_ENTRIES = 1000;
const MERGE_MAX_BYTES = 1 << 20;

/** One `append` call waiting for its script call. */
interface WaitingAppend {
  /** Its frames, seq 0, encoded when the call was made. */
  readonly frames: Buffer[];
  readonly bytes: number;
  /** What it resolves with once numbered. */
  readonly stored: LogEntry[];
  readonly resolve: (stored: LogEntry[]) => void;
  readonly reject: (error: unknown) => void;
}

/** A document's appends: those waiting (with their totals), and its script calls in flight. */
interface AppendQueue {
  readonly docId: string;
  readonly waiting: WaitingAppend[];
  entries: number;
  bytes: number;
  inFlight: number;
  scheduled: boolean;
  keys?: DocumentKeys;
}

/** Whether a document's waiting appends fill a script call (they go without waiting). */
function isFull(queue: AppendQueue): boolean {
  return queue.entries >= MERGE_MAX_ENTRIES || queue.bytes >= MERGE_MAX_BYTES;
}

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
  /** Per document with appends waiting or in flight: what waits, and whether a call is out. */
  private readonly appendQueues = new Map<string, AppendQueue>();
  /** The append script calls not answered yet (they settle without rejecting). */
  private readonly calls = new Set<Promise<void>>();

  /** A log in the ystate key layout on `options.redis` (which it does not close). */
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

  /**
   * Appends a batch; resolves once Redis has it (and has published it). Concurrent appends to one
   * document are merged, as in group commit: the appends made in one turn go out in one script
   * call, and those that arrive while a call of the document is in flight wait for it, then go
   * together (in call order, each batch whole and contiguous). Each batch is validated and encoded
   * when it is handed in, so a bad entry fails only its own call, and later changes to the
   * caller's payloads do not matter.
   */
  append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    let encoded: EncodedAppend;
    try {
      this.assertOpen();
      checkDocId(docId);
      encoded = encodeAppend(entries, docId);
    } catch (error) {
      return Promise.reject(error);
    }
    if (encoded.frames.length === 0) return Promise.resolve([]);
    return new Promise<LogEntry[]>((resolve, reject) => {
      let queue = this.appendQueues.get(docId);
      if (queue === undefined) {
        queue = { docId, waiting: [], entries: 0, bytes: 0, inFlight: 0, scheduled: false };
        this.appendQueues.set(docId, queue);
      }
      const { frames, bytes, stored } = encoded;
      queue.waiting.push({ frames, bytes, stored, resolve, reject });
      queue.entries += frames.length;
      queue.bytes += bytes;
      if (queue.inFlight === 0 || isFull(queue)) this.schedule(queue);
    });
  }

  /** Sends a document's waiting appends on the next tick, so the rest of this turn joins them. */
  private schedule(queue: AppendQueue): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    process.nextTick(() => {
      queue.scheduled = false;
      this.sendWaiting(queue, false);
    });
  }

  /**
   * Sends what waits for a document: everything when no call of it is in flight (or `all`), else
   * only full calls (the rest waits for the calls in flight).
   */
  private sendWaiting(queue: AppendQueue, all: boolean): void {
    while (queue.waiting.length > 0 && (all || queue.inFlight === 0 || isFull(queue))) this.sendCall(queue);
    if (queue.waiting.length === 0 && queue.inFlight === 0) this.retire(queue);
  }

  /** Forgets a document's queue once nothing waits or is in flight (a new one starts on demand). */
  private retire(queue: AppendQueue): void {
    if (this.appendQueues.get(queue.docId) === queue) this.appendQueues.delete(queue.docId);
  }

  /** Sends the waiting appends that fit in one script call (whole appends, at least one). */
  private sendCall(queue: AppendQueue): void {
    const { waiting } = queue;
    let count = 0;
    let entries = 0;
    let bytes = 0;
    while (count < waiting.length) {
      const next = waiting[count] as WaitingAppend;
      const fits = entries + next.frames.length <= MERGE_MAX_ENTRIES && bytes + next.bytes <= MERGE_MAX_BYTES;
      if (count > 0 && !fits) break;
      count++;
      entries += next.frames.length;
      bytes += next.bytes;
    }
    const batches = waiting.splice(0, count);
    queue.entries -= entries;
    queue.bytes -= bytes;
    const frames: Buffer[] = count === 1 ? (batches[0] as WaitingAppend).frames : [];
    if (count > 1) for (const batch of batches) for (const frame of batch.frames) frames.push(frame);
    queue.keys ??= documentKeys(this.prefix, queue.docId);
    const keys = queue.keys;
    queue.inFlight++;
    const answered = () => {
      this.calls.delete(call);
      queue.inFlight--;
      // The callers answered now may append again in this turn: the next tick sends them together.
      if (queue.inFlight === 0) {
        if (queue.waiting.length > 0) this.schedule(queue);
        else this.retire(queue);
      }
    };
    let sent: Promise<number>;
    try {
      sent = retryNotRun(this.redis, () =>
        this.commands.ystateAppend(keys.log, keys.base, this.publishCommand, keys.channel, ...frames),
      );
    } catch (cause) {
      // Not expected from ioredis, but no caller may be left waiting.
      sent = Promise.reject(cause);
    }
    const call = sent.then(
      (first) => {
        answered();
        let seq = first;
        for (const batch of batches) {
          for (const entry of batch.stored) entry.seq = seq++;
          batch.resolve(batch.stored);
        }
      },
      (cause: unknown) => {
        answered();
        for (const batch of batches) {
          batch.reject(unavailable(cause, `appending ${batch.frames.length} entries to "${queue.docId}"`));
        }
      },
    );
    this.calls.add(call);
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
          reply = await retryNotRun(this.redis, () =>
            this.commands.ystateReadBuffer(keys.log, keys.base, String(next), String(last)),
          );
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
      return await retryNotRun(this.redis, () => this.commands.ystateHead(keys.log, keys.base));
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

  /**
   * Refuses further calls with DOCUMENT_CLOSED; resolves once the appends already handed in are
   * answered (they are sent at once). The connection belongs to whoever made it.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.appendQueues.size > 0 || this.calls.size > 0) {
      for (const queue of this.appendQueues.values()) this.sendWaiting(queue, true);
      await Promise.all(this.calls);
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the update log is closed' });
  }
}
