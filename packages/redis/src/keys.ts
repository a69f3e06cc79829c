/**
 * Key and channel names. In the ystate layout every key of a document is
 * `<prefix>{<docId>}:<part>`: the docId in a hash tag, so one document's keys (and its sharded
 * Pub/Sub channels) live in one cluster slot and one Lua script can touch them all. The y-redis
 * layout is y-redis 1.x's own: `<prefix><docId>:updates` and channel `<prefix><docId>`, plus a
 * ystate-only signal channel `<prefix><docId>:ystate-signal` (y-redis 1.x has none).
 * Layout reference: docs/redis.md.
 */

import { ErrorCode, YStateError } from '@ystate/core';

/** Which key layout a store reads and writes. */
export type RedisLayout = 'ystate' | 'y-redis';

/** The default prefix of the ystate layout. */
export const DEFAULT_PREFIX = 'ystate:';

/** The keys and channel of one document in the ystate layout. */
export interface DocumentKeys {
  /** LIST of entry frames, oldest first. */
  log: string;
  /** STRING: how many entries were trimmed off the front of `log` (seq of index i = base + i + 1). */
  base: string;
  /** ZSET of checkpoint frames scored by seq. */
  checkpoints: string;
  /** STRING with a PX expiry: the checkpoint lease, holding the holder's token. */
  lease: string;
  /** Pub/Sub channel of new entries (sharded on a cluster). */
  channel: string;
  /** Pub/Sub channel of signals: ephemeral messages such as awareness, never stored (sharded on a cluster). */
  signal: string;
}

/** The ystate-layout keys of `docId`. */
export function documentKeys(prefix: string, docId: string): DocumentKeys {
  const stem = `${prefix}{${docId}}:`;
  return {
    log: `${stem}log`,
    base: `${stem}base`,
    checkpoints: `${stem}checkpoints`,
    lease: `${stem}lease`,
    channel: `${stem}channel`,
    signal: `${stem}signal`,
  };
}

/** The SCAN pattern matching every ystate-layout key under `prefix`. */
export function documentKeyPattern(prefix: string): string {
  return `${escapeGlob(prefix)}{*}:*`;
}

/**
 * The docId of a ystate-layout key whose part proves a log exists (`log`, or `base` once
 * everything was trimmed), else undefined.
 */
export function docIdOfLogKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(`${prefix}{`)) return undefined;
  // Parts never contain '}', so the last '}:' ends the docId, whatever the docId holds.
  const end = key.lastIndexOf('}:');
  if (end < prefix.length + 1) return undefined;
  const part = key.slice(end + 2);
  if (part !== 'log' && part !== 'base') return undefined;
  return key.slice(prefix.length + 1, end);
}

/** The keys and channel of one document in the y-redis 1.x layout. */
export interface YRedisKeys {
  /** LIST of raw Yjs updates (`<name>:updates`). */
  updates: string;
  /** Channel y-redis publishes the list length on (`<name>`). */
  channel: string;
  /**
   * ystate's own signal channel (`<name>:ystate-signal`): y-redis 1.x has no awareness channel,
   * so only ystate nodes use it. It is the entries channel of a document named
   * `<name>:ystate-signal`; one bus refuses to use both.
   */
  signal: string;
}

/** The keys y-redis 1.x uses for a document: its updates list, its Pub/Sub channel, and ystate's signal channel beside them. */
export function yRedisKeys(prefix: string, docId: string): YRedisKeys {
  return {
    updates: `${prefix}${docId}:updates`,
    channel: `${prefix}${docId}`,
    signal: `${prefix}${docId}:ystate-signal`,
  };
}

export function yRedisKeyPattern(prefix: string): string {
  return `${escapeGlob(prefix)}*:updates`;
}

export function docIdOfYRedisKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix) || !key.endsWith(':updates')) return undefined;
  return key.slice(prefix.length, key.length - ':updates'.length);
}

/** Throws INVALID_CONFIG unless `prefix` can hold the ystate layout (no hash-tag braces). */
export function checkPrefix(prefix: string, layout: RedisLayout): void {
  if (typeof prefix !== 'string') throw invalidConfig('prefix must be a string');
  if (layout === 'ystate' && (prefix.includes('{') || prefix.includes('}'))) {
    // A brace in the prefix would move the hash tag off the docId, splitting a document's keys.
    throw invalidConfig(`prefix "${prefix}" must not contain "{" or "}"`);
  }
}

/** Throws INVALID_VALUE for a docId no layout can key (empty: "{}" is no hash tag in a cluster). */
export function checkDocId(docId: string): void {
  if (typeof docId !== 'string' || docId.length === 0) {
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'a docId must be a non-empty string' });
  }
}

/** The cluster slot of a key (CRC16/XMODEM of its hash tag, mod 16384), as Redis computes it. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)) & 0xffff;
  return crc % 16384;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let crc = n << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function invalidConfig(message: string): YStateError {
  return new YStateError({
    code: ErrorCode.INVALID_CONFIG,
    message: `invalid Redis store options: ${message}`,
  });
}
