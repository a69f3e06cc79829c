import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CodecOptions, decodePayload, encodePayload, withBusCodecs, withCodecs } from './codecs.js';
import { Engine } from './engine.js';
import { ErrorCode, httpStatusOf, isYStateError } from './errors.js';
import {
  decodeEntry,
  EntryFlags,
  type EntryInput,
  type EntryKind,
  encodeEntry,
  type LogEntry,
} from './log-entry.js';
import { MemorySyncBus } from './memory-bus.js';
import { MemoryUpdateLog } from './memory-log.js';

const keyA = new Uint8Array(randomBytes(32));
const keyB = new Uint8Array(randomBytes(32));
const encryptA: CodecOptions = { encryption: { keys: { a: keyA }, currentKeyId: 'a' } };
const compress: CodecOptions = { compression: { thresholdBytes: 64 } };
const both: CodecOptions = { ...compress, ...encryptA };

const text = new TextEncoder();
/** A payload that deflates well, like a Yjs update full of repeated keys. */
const compressible = text.encode('{"status":"running","agent":"planner"}'.repeat(100));

function entry(payload: Uint8Array, origin = 'node-1'): EntryInput {
  return { kind: 'update', time: 1_700_000_000_000, origin, flags: 0, payload };
}

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (isYStateError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('encodePayload / decodePayload', () => {
  it('round-trip any entry under any combination of codecs, also through a frame', () => {
    const optionsArb = fc.constantFrom<CodecOptions>({}, compress, encryptA, both, { compression: {} });
    const payloadArb = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      // Long runs compress, so the compressed path is exercised too.
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 500 }))
        .map(([unit, times]) =>
          Uint8Array.from({ length: unit.length * times }, (_, i) => unit[i % unit.length]!),
        ),
    );
    const inputArb = fc.record({
      kind: fc.constantFrom<EntryKind>('update', 'lifecycle', 'checkpoint'),
      time: fc.maxSafeNat(),
      origin: fc.string({ unit: 'binary' }),
      seq: fc.integer({ min: 1, max: 2 ** 40 }),
      payload: payloadArb,
    });
    fc.assert(
      fc.property(optionsArb, inputArb, (options, input) => {
        const plain: LogEntry = { ...input, flags: 0 };
        const stored = decodeEntry(encodeEntry(encodePayload(plain, options)));
        expect(decodePayload(stored, options)).toEqual(plain);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes the test vector in docs/log-format.md', () => {
    const frame = Buffer.from(
      '01000180d095ffbc31066e6f64652d3103026b3126a0a1a2a3a4a5a6a7a8a9aaab' +
        '2d50b1e48c9ccaff45641c27c09fb16ed5307336ae56b71eeefe',
      'hex',
    );
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const decoded = decodePayload(decodeEntry(frame), {
      encryption: { keys: { k1: key }, currentKeyId: 'k1' },
    });
    expect(decoded).toEqual({
      ...entry(text.encode('hello hello hello hello')),
      seq: 1,
    });
  });

  it('compresses large payloads that shrink', () => {
    const encoded = encodePayload(entry(compressible), compress);
    expect(encoded.flags).toBe(EntryFlags.compressed);
    expect(encoded.keyId).toBeUndefined();
    expect(encoded.payload.length).toBeLessThan(compressible.length / 10);
    expect(decodePayload(encoded, compress).payload).toEqual(compressible);
  });

  it('leaves payloads below the threshold (default 1024 bytes) and incompressible ones alone', () => {
    const small = compressible.subarray(0, 1023);
    expect(encodePayload(entry(small), { compression: {} })).toEqual(entry(small));
    expect(encodePayload(entry(compressible.subarray(0, 1024)), { compression: {} }).flags).toBe(
      EntryFlags.compressed,
    );
    const noise = new Uint8Array(randomBytes(4096));
    expect(encodePayload(entry(noise), compress)).toEqual(entry(noise));
  });

  it('encrypts with a fresh IV every time and never stores the plaintext', () => {
    const plaintext = text.encode('secret agent notes');
    const first = encodePayload(entry(plaintext), encryptA);
    const second = encodePayload(entry(plaintext), encryptA);
    expect(first.flags).toBe(EntryFlags.encrypted);
    expect(first.keyId).toBe('a');
    expect(first.payload.length).toBe(12 + plaintext.length + 16);
    expect(containsBytes(first.payload, plaintext)).toBe(false);
    expect(first.payload).not.toEqual(second.payload);
    expect(decodePayload(first, encryptA)).toEqual(entry(plaintext));
  });

  it('compresses before encrypting, and undoes both', () => {
    const encoded = encodePayload(entry(compressible), both);
    expect(encoded.flags).toBe(EntryFlags.compressed | EntryFlags.encrypted);
    expect(encoded.payload.length).toBeLessThan(compressible.length / 10);
    expect(decodePayload(encoded, both)).toEqual(entry(compressible));
  });

  it('reads entries written under an older key after rotation', () => {
    const old = encodePayload(entry(text.encode('under a')), encryptA);
    const rotated: CodecOptions = { encryption: { keys: { a: keyA, b: keyB }, currentKeyId: 'b' } };
    const recent = encodePayload(entry(text.encode('under b')), rotated);
    expect(recent.keyId).toBe('b');
    expect(decodePayload(old, rotated).payload).toEqual(text.encode('under a'));
    expect(decodePayload(recent, rotated).payload).toEqual(text.encode('under b'));
  });

  it('fails with DECRYPTION_FAILED under a wrong key', () => {
    const encoded = encodePayload(entry(text.encode('x')), encryptA);
    const wrong: CodecOptions = { encryption: { keys: { a: keyB }, currentKeyId: 'a' } };
    expect(codeOf(() => decodePayload(encoded, wrong))).toBe(ErrorCode.DECRYPTION_FAILED);
  });

  it('fails with UNKNOWN_KEY when the key id is not configured, or no encryption is', () => {
    const encoded = encodePayload(entry(text.encode('x')), encryptA);
    const onlyB: CodecOptions = { encryption: { keys: { b: keyB }, currentKeyId: 'b' } };
    expect(codeOf(() => decodePayload(encoded, onlyB))).toBe(ErrorCode.UNKNOWN_KEY);
    expect(codeOf(() => decodePayload(encoded, {}))).toBe(ErrorCode.UNKNOWN_KEY);
    expect(codeOf(() => decodePayload({ ...encoded, keyId: 'constructor' }, onlyB))).toBe(
      ErrorCode.UNKNOWN_KEY,
    );
  });

  it('fails with DECRYPTION_FAILED when any byte, the origin or the kind was tampered with', () => {
    const encoded = encodePayload(entry(compressible), both);
    for (const index of [0, 11, 12, encoded.payload.length - 17, encoded.payload.length - 1]) {
      const payload = Uint8Array.from(encoded.payload);
      payload[index]! ^= 1;
      expect(
        codeOf(() => decodePayload({ ...encoded, payload }, both)),
        `byte ${index}`,
      ).toBe(ErrorCode.DECRYPTION_FAILED);
    }
    expect(codeOf(() => decodePayload({ ...encoded, origin: 'node-2' }, both))).toBe(
      ErrorCode.DECRYPTION_FAILED,
    );
    expect(codeOf(() => decodePayload({ ...encoded, kind: 'lifecycle' }, both))).toBe(
      ErrorCode.DECRYPTION_FAILED,
    );
    const truncated = { ...encoded, payload: encoded.payload.subarray(0, 27) };
    expect(codeOf(() => decodePayload(truncated, both))).toBe(ErrorCode.DECRYPTION_FAILED);
  });

  it('fails with CORRUPT_ENTRY when a payload flagged compressed does not inflate', () => {
    const bogus = { ...entry(Uint8Array.from([0xff, 0xff, 0xff])), flags: EntryFlags.compressed };
    expect(codeOf(() => decodePayload(bogus, compress))).toBe(ErrorCode.CORRUPT_ENTRY);
  });

  it('refuses to encode a payload that already carries codec flags', () => {
    const flagged = { ...entry(compressible), flags: EntryFlags.compressed };
    expect(codeOf(() => encodePayload(flagged, both))).toBe(ErrorCode.INVALID_VALUE);
  });
});

describe('withCodecs', () => {
  it('stores ciphertext in the inner log and reads plaintext back', async () => {
    const inner = new MemoryUpdateLog();
    const log = withCodecs(inner, both);
    const first = entry(new Uint8Array(compressible));
    const second = entry(text.encode('short secret'), 'agent-7');
    const appended = await log.append('doc', [first, second]);
    expect(appended).toEqual([
      { ...first, seq: 1 },
      { ...second, seq: 2 },
    ]);
    // Like every log, what append returns shares no memory with the caller's input.
    expect(appended[0]?.payload).not.toBe(first.payload);
    first.payload.fill(0);
    expect(appended[0]?.payload).toEqual(compressible);

    const stored = await inner.read('doc');
    expect(stored.map((e) => e.flags)).toEqual([
      EntryFlags.compressed | EntryFlags.encrypted,
      EntryFlags.encrypted,
    ]);
    expect(containsBytes(stored[0]!.payload, compressible.subarray(0, 40))).toBe(false);
    expect(containsBytes(stored[1]!.payload, second.payload)).toBe(false);

    expect(await log.read('doc')).toEqual(appended);
    expect(await log.read('doc', { from: 2 })).toEqual([{ ...second, seq: 2 }]);
    expect(await log.head('doc')).toBe(2);
    expect(await log.docIds()).toEqual(['doc']);
  });

  it('encodes checkpoints and decodes the latest one', async () => {
    const inner = new MemoryUpdateLog();
    const log = withCodecs(inner, encryptA);
    await log.append('doc', [entry(text.encode('u1')), entry(text.encode('u2'))]);
    const checkpoint: LogEntry = { ...entry(text.encode('full state')), kind: 'checkpoint', seq: 2 };
    await log.storeCheckpoint('doc', checkpoint);

    const raw = await inner.latestCheckpoint('doc');
    expect(raw?.flags).toBe(EntryFlags.encrypted);
    expect(containsBytes(raw!.payload, checkpoint.payload)).toBe(false);
    expect(await log.latestCheckpoint('doc')).toEqual(checkpoint);
    expect(await log.latestCheckpoint('doc', 1)).toBeUndefined();

    await log.prune('doc', 2);
    expect(await log.read('doc')).toEqual([{ ...entry(text.encode('u2')), seq: 2 }]);
  });

  it('reads what was written before compression or encryption was turned on', async () => {
    const inner = new MemoryUpdateLog();
    await inner.append('doc', [entry(text.encode('plain'))]);
    await withCodecs(inner, both).append('doc', [entry(compressible)]);
    const read = await withCodecs(inner, both).read('doc');
    expect(read.map((e) => e.payload)).toEqual([text.encode('plain'), compressible]);
  });

  it('surfaces a wrong key on read as DECRYPTION_FAILED', async () => {
    const inner = new MemoryUpdateLog();
    await withCodecs(inner, encryptA).append('doc', [entry(text.encode('x'))]);
    const wrong = withCodecs(inner, { encryption: { keys: { a: keyB }, currentKeyId: 'a' } });
    await expect(wrong.read('doc')).rejects.toMatchObject({ code: ErrorCode.DECRYPTION_FAILED });
  });

  it('rejects bad options up front with INVALID_CONFIG (status 400)', () => {
    const inner = new MemoryUpdateLog();
    const bad: CodecOptions[] = [
      { encryption: { keys: { a: new Uint8Array(16) }, currentKeyId: 'a' } },
      { encryption: { keys: { a: keyA }, currentKeyId: 'b' } },
      { encryption: { keys: { a: keyA }, currentKeyId: 'toString' } },
      { compression: { thresholdBytes: -1 } },
      { compression: { level: 10 } },
    ];
    for (const options of bad) {
      expect(
        codeOf(() => withCodecs(inner, options)),
        JSON.stringify(options),
      ).toBe(ErrorCode.INVALID_CONFIG);
      expect(codeOf(() => encodePayload(entry(compressible), options))).toBe(ErrorCode.INVALID_CONFIG);
    }
    expect(httpStatusOf(ErrorCode.INVALID_CONFIG)).toBe(400);
    expect(httpStatusOf(ErrorCode.UNKNOWN_KEY)).toBe(500);
    expect(httpStatusOf(ErrorCode.DECRYPTION_FAILED)).toBe(500);
  });
});

describe('withBusCodecs', () => {
  it('sends entries in stored form and delivers them decoded; engines on an encrypted log and bus converge', async () => {
    const options = {
      compression: { thresholdBytes: 8 },
      encryption: { keys: { k1: new Uint8Array(32).fill(9) }, currentKeyId: 'k1' },
    };
    const hub = new MemorySyncBus();
    const seen: LogEntry[] = [];
    await hub.subscribe('d', (entries) => seen.push(...entries));
    const log = withCodecs(new MemoryUpdateLog(), options);
    const a = new Engine({ log, bus: withBusCodecs(hub.peer(), options), nodeId: 'a' });
    const b = new Engine({ log, bus: withBusCodecs(hub.peer(), options), nodeId: 'b' });
    const docB = await b.open('d');
    const arrived = new Promise<void>((resolve) => {
      docB.onChange((change) => change.seq === 1 && resolve());
    });
    await a.write('d', (tx) => tx.set('/secret', 'plain text that must not travel in clear'));
    await arrived;
    expect(docB.toJSON()).toEqual({ secret: 'plain text that must not travel in clear' });
    expect(seen.every((entry) => entry.keyId === 'k1')).toBe(true);
    expect(Buffer.from(seen[0]?.payload ?? []).toString('latin1')).not.toContain('plain text');
    await a.close();
    await b.close();
  });

  it('passes publishesAppends and restore through withCodecs', () => {
    const inner = Object.assign(new MemoryUpdateLog(), { publishesAppends: true });
    const wrapped = withCodecs(inner, { compression: {} });
    expect(wrapped.publishesAppends).toBe(true);
    expect(typeof wrapped.restore).toBe('function');
    expect(withCodecs(new MemoryUpdateLog(), { compression: {} }).publishesAppends).toBeUndefined();
  });
});
