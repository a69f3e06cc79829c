/**
 * Payload codecs: deflate compression and AES-256-GCM encryption of entry payloads, applied the
 * same way for every store by wrapping its `UpdateLog`. Node-only (node:zlib, node:crypto), so it
 * is the `@ystate/core/codecs` subpath, not part of the isomorphic index. Layout: docs/log-format.md.
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as encoding from 'lib0/encoding';
import { ErrorCode, YStateError } from './errors.js';
import { copyEntry, EntryFlags, type EntryInput, type LogEntry } from './log-entry.js';
import type { SyncBus, UpdateLog } from './update-log.js';

/** How payloads are compressed and encrypted; leave a part out to turn it off. */
export interface CodecOptions {
  compression?: {
    /** Payloads smaller than this many bytes are stored as they are (default 1024). */
    thresholdBytes?: number;
    /** zlib level from -1 (zlib's default) to 9. */
    level?: number;
  };
  encryption?: {
    /** Key id → 32-byte AES-256 key. Keep retired keys here: old entries decrypt with the key they name. */
    keys: Record<string, Uint8Array>;
    /** The key new payloads are encrypted with. */
    currentKeyId: string;
  };
}

type Encryption = NonNullable<CodecOptions['encryption']>;

const DEFAULT_THRESHOLD_BYTES = 1024;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CODEC_FLAGS = EntryFlags.compressed | EntryFlags.encrypted;

/** Compresses (when worth it) then encrypts an entry's payload, setting `flags` and `keyId` to match. */
export function encodePayload<T extends EntryInput>(entry: T, options: CodecOptions): T {
  validateOptions(options);
  // A payload that already claims a codec would be encoded twice and decoded once: refuse it here
  // rather than store something no reader can make sense of.
  if (entry.flags & CODEC_FLAGS) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `${describe(entry)} already has codec flags (${entry.flags}); pass plain payloads`,
    });
  }
  let { flags, payload } = entry;
  const { compression, encryption } = options;
  if (compression && payload.length >= (compression.thresholdBytes ?? DEFAULT_THRESHOLD_BYTES)) {
    const deflated = deflateRawSync(
      payload,
      compression.level === undefined ? {} : { level: compression.level },
    );
    // Incompressible payloads (media, already-compressed data) are kept as they are.
    if (deflated.length < payload.length) {
      payload = concat([deflated]);
      flags |= EntryFlags.compressed;
    }
  }
  if (!encryption) return withPayload(entry, flags, payload);
  const key = keyFor(encryption, encryption.currentKeyId, entry);
  const sealed = encrypt(payload, key, additionalData(entry));
  return withPayload(entry, flags | EntryFlags.encrypted, sealed, encryption.currentKeyId);
}

/** Reverses `encodePayload`: decrypts with the key the entry names, then inflates; clears the codec flags. */
export function decodePayload<T extends EntryInput>(entry: T, options: CodecOptions): T {
  validateOptions(options);
  if (!(entry.flags & CODEC_FLAGS)) return entry;
  let payload = entry.payload;
  if (entry.flags & EntryFlags.encrypted) {
    if (!options.encryption) {
      throw new YStateError({
        code: ErrorCode.UNKNOWN_KEY,
        message: `${describe(entry)} is encrypted with key '${entry.keyId}' but no encryption keys are configured`,
      });
    }
    const key = keyFor(options.encryption, entry.keyId, entry);
    payload = decrypt(payload, key, additionalData(entry), entry);
  }
  if (entry.flags & EntryFlags.compressed) {
    try {
      payload = concat([inflateRawSync(payload)]);
    } catch (cause) {
      throw new YStateError({
        code: ErrorCode.CORRUPT_ENTRY,
        message: `${describe(entry)} is flagged compressed but does not inflate`,
        cause,
      });
    }
  }
  return withPayload(entry, entry.flags & ~CODEC_FLAGS, payload);
}

/**
 * Wraps a log so that payloads are encoded on `append`/`storeCheckpoint` and decoded on
 * `read`/`latestCheckpoint`; the rest passes through. Throws INVALID_CONFIG for bad options.
 */
export function withCodecs(log: UpdateLog, options: CodecOptions): UpdateLog {
  validateOptions(options);
  const decode = (entry: LogEntry): LogEntry => decodePayload(entry, options);
  return {
    async append(docId, entries) {
      const stored = await log.append(
        docId,
        entries.map((entry) => encodePayload(entry, options)),
      );
      // The caller holds the plaintext already: hand a copy of it back with the assigned seqs
      // instead of decrypting what was just encrypted (a copy: like every log, share no memory with
      // the caller's input).
      return stored.map((entry, i) => {
        const input = entries[i];
        return input === undefined ? decode(entry) : { ...copyEntry(input), seq: entry.seq };
      });
    },
    async read(docId, range) {
      return (await log.read(docId, range)).map(decode);
    },
    async latestCheckpoint(docId, atOrBefore) {
      const checkpoint = await log.latestCheckpoint(docId, atOrBefore);
      return checkpoint && decode(checkpoint);
    },
    storeCheckpoint: (docId, checkpoint) => log.storeCheckpoint(docId, encodePayload(checkpoint, options)),
    head: (docId) => log.head(docId),
    prune: (docId, seq) => log.prune(docId, seq),
    docIds: () => log.docIds(),
    close: () => log.close(),
    // A log that publishes its appends (Redis, PostgreSQL) publishes them as stored, i.e. encoded:
    // pair it with `withBusCodecs` on the bus.
    ...(log.publishesAppends ? { publishesAppends: true } : {}),
    // Restored history comes from a backup archive, already in stored form: written unchanged.
    ...(log.restore ? { restore: log.restore.bind(log) } : {}),
  };
}

/**
 * Wraps a bus so that entries travel in stored form (compressed, encrypted) and subscribers get
 * them decoded — the same on every bus, and what a log that publishes its own appends sends.
 * Ephemeral signals (awareness) pass through unchanged.
 */
export function withBusCodecs(bus: SyncBus, options: CodecOptions): SyncBus {
  validateOptions(options);
  const wrapped: SyncBus = {
    publish: (docId, entries) =>
      bus.publish(
        docId,
        entries.map((entry) => ((entry.flags & CODEC_FLAGS) === 0 ? encodePayload(entry, options) : entry)),
      ),
    subscribe: (docId, listener) =>
      bus.subscribe(docId, (entries) => listener(entries.map((entry) => decodePayload(entry, options)))),
    close: () => bus.close(),
  };
  if (bus.onReconnect) wrapped.onReconnect = bus.onReconnect.bind(bus);
  if (bus.signal) wrapped.signal = bus.signal.bind(bus);
  if (bus.onSignal) wrapped.onSignal = bus.onSignal.bind(bus);
  return wrapped;
}

function validateOptions({ compression, encryption }: CodecOptions): void {
  if (compression) {
    const { thresholdBytes, level } = compression;
    if (thresholdBytes !== undefined && !(Number.isSafeInteger(thresholdBytes) && thresholdBytes >= 0)) {
      throw invalidConfig(`compression.thresholdBytes must be a non-negative integer, got ${thresholdBytes}`);
    }
    if (level !== undefined && !(Number.isInteger(level) && level >= -1 && level <= 9)) {
      throw invalidConfig(`compression.level must be an integer from -1 to 9, got ${level}`);
    }
  }
  if (encryption) {
    // Options often come from config files and env vars, so check shapes TypeScript cannot.
    if (typeof encryption.keys !== 'object' || encryption.keys === null) {
      throw invalidConfig('encryption.keys must be an object of key id → 32-byte key');
    }
    for (const [keyId, key] of Object.entries(encryption.keys)) {
      // Never put key bytes in a message: only the id and the length.
      if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
        const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
        throw invalidConfig(`encryption key '${keyId}' must be ${KEY_BYTES} bytes (AES-256), got ${got}`);
      }
    }
    if (
      typeof encryption.currentKeyId !== 'string' ||
      !Object.hasOwn(encryption.keys, encryption.currentKeyId)
    ) {
      throw invalidConfig(
        `encryption.currentKeyId '${encryption.currentKeyId}' is not one of the configured keys`,
      );
    }
  }
}

function invalidConfig(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_CONFIG, message: `invalid codec options: ${message}` });
}

function keyFor(encryption: Encryption, keyId: string | undefined, entry: EntryInput): Uint8Array {
  // hasOwn, so that ids such as 'constructor' do not find Object.prototype members.
  const key =
    keyId !== undefined && Object.hasOwn(encryption.keys, keyId) ? encryption.keys[keyId] : undefined;
  if (key === undefined) {
    throw new YStateError({
      code: ErrorCode.UNKNOWN_KEY,
      message: `${describe(entry)} is encrypted with key '${keyId}', which is not configured`,
    });
  }
  return key;
}

/** Binds the ciphertext to the entry's kind and origin (its seq is not known until the log assigns it). */
function additionalData(entry: EntryInput): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, entry.kind);
  encoding.writeVarString(encoder, entry.origin);
  return encoding.toUint8Array(encoder);
}

/** iv (12 bytes) || ciphertext || tag (16 bytes). */
function encrypt(plain: Uint8Array, key: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  const rest = cipher.final();
  return concat([iv, body, rest, cipher.getAuthTag()]);
}

function decrypt(sealed: Uint8Array, key: Uint8Array, aad: Uint8Array, entry: EntryInput): Uint8Array {
  const failed = (cause?: unknown) =>
    new YStateError({
      code: ErrorCode.DECRYPTION_FAILED,
      message: `cannot decrypt ${describe(entry)} with key '${entry.keyId}': wrong key or tampered bytes`,
      cause,
    });
  if (sealed.length < IV_BYTES + TAG_BYTES) throw failed();
  try {
    const iv = sealed.subarray(0, IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
    // final() is where GCM checks the tag: nothing is returned before it passes.
    return concat([body, decipher.final()]);
  } catch (cause) {
    throw failed(cause);
  }
}

/** Copies into a fresh Uint8Array: small Node Buffers are views into a shared pool holding other data. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function withPayload<T extends EntryInput>(entry: T, flags: number, payload: Uint8Array, keyId?: string): T {
  const out: EntryInput = { ...entry, flags, payload };
  if (keyId === undefined) delete out.keyId;
  else out.keyId = keyId;
  return out as T;
}

function describe(entry: EntryInput): string {
  const seq = 'seq' in entry ? ` seq ${entry.seq}` : '';
  return `${entry.kind} entry${seq} from '${entry.origin}'`;
}
