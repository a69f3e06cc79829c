import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isYStateError } from './errors.js';
import {
  decodeEntry,
  ENTRY_FORMAT_VERSION,
  EntryFlags,
  type EntryKind,
  encodeEntry,
  type LogEntry,
} from './log-entry.js';

const kinds: readonly EntryKind[] = ['update', 'lifecycle', 'checkpoint'];

const entryArb: fc.Arbitrary<LogEntry> = fc
  .record({
    kind: fc.constantFrom(...kinds),
    seq: fc.maxSafeNat(),
    time: fc.maxSafeNat(),
    // 'binary' gives any code point but lone surrogates, which UTF-8 cannot carry.
    origin: fc.string({ unit: 'binary' }),
    flags: fc.constantFrom(
      0,
      EntryFlags.compressed,
      EntryFlags.encrypted,
      EntryFlags.compressed | EntryFlags.encrypted,
    ),
    keyId: fc.string({ unit: 'binary' }),
    payload: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ keyId, ...entry }) => (entry.flags & EntryFlags.encrypted ? { ...entry, keyId } : entry));

function expectCorrupt(frame: Uint8Array): void {
  let thrown: unknown;
  try {
    decodeEntry(frame);
  } catch (error) {
    thrown = error;
  }
  expect(isYStateError(thrown, ErrorCode.CORRUPT_ENTRY), `decoded ${Array.from(frame)}`).toBe(true);
}

describe('entry frames', () => {
  it('round-trip every kind and flag combination', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
      }),
    );
  });

  it('carry the key id only when the payload is encrypted', () => {
    const base = { kind: 'update', seq: 1, time: 2, origin: 'o', payload: new Uint8Array([7]) } as const;
    const plain = encodeEntry({ ...base, flags: 0, keyId: 'stray' });
    expect(decodeEntry(plain)).toEqual({ ...base, flags: 0 });
    const encrypted = encodeEntry({ ...base, flags: EntryFlags.encrypted, keyId: 'k1' });
    expect(encrypted.length).toBe(plain.length + 3);
    expect(decodeEntry(encrypted).keyId).toBe('k1');
  });

  it('have the documented byte layout', () => {
    const frame = encodeEntry({
      kind: 'lifecycle',
      seq: 300,
      time: 5,
      origin: 'ab',
      flags: EntryFlags.encrypted,
      keyId: 'k',
      payload: new Uint8Array([9, 8]),
    });
    // version, kind, seq 300 as varUint (0xac 0x02), time, "ab", flags, "k", payload
    expect(Array.from(frame)).toEqual([
      ENTRY_FORMAT_VERSION,
      1,
      0xac,
      0x02,
      5,
      2,
      97,
      98,
      2,
      1,
      107,
      2,
      9,
      8,
    ]);
  });

  it('refuse every truncation of a valid frame, even as a view into a larger buffer', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const frame = encodeEntry(entry);
        // Bytes after the view must not be read as if they belonged to it.
        const backing = new Uint8Array(frame.length + 64).fill(0x41);
        backing.set(frame);
        for (let length = 0; length < frame.length; length++) expectCorrupt(backing.subarray(0, length));
      }),
      { numRuns: 50 },
    );
  });

  it('refuse trailing bytes, unknown versions and unknown kinds', () => {
    const frame = encodeEntry({
      kind: 'update',
      seq: 1,
      time: 1,
      origin: '',
      flags: 0,
      payload: new Uint8Array(),
    });
    expectCorrupt(Uint8Array.from([...frame, 0]));
    expectCorrupt(Uint8Array.from([ENTRY_FORMAT_VERSION + 1, ...frame.subarray(1)]));
    expectCorrupt(Uint8Array.from([frame[0]!, 3, ...frame.subarray(2)]));
    // A varUint that never ends / overflows 2^53.
    expectCorrupt(new Uint8Array(12).fill(0xff));
  });

  it('decode garbage either to an entry or to CORRUPT_ENTRY, never another error', () => {
    // Half of the inputs start with the right version, so the decoder gets past the first byte.
    const bytesArb = fc.uint8Array({ maxLength: 64 });
    const garbage = fc.oneof(
      bytesArb,
      bytesArb.map((bytes) => Uint8Array.from([ENTRY_FORMAT_VERSION, ...bytes])),
    );
    fc.assert(
      fc.property(garbage, (bytes) => {
        try {
          const entry = decodeEntry(bytes);
          expect(kinds).toContain(entry.kind);
        } catch (error) {
          expect(isYStateError(error, ErrorCode.CORRUPT_ENTRY)).toBe(true);
        }
      }),
    );
  });
});
