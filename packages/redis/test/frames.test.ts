import { EntryFlags, type EntryInput, type EntryKind, encodeEntry } from '@ystate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAppend } from '../src/frames.js';

const entryArbitrary: fc.Arbitrary<EntryInput> = fc
  .record({
    kind: fc.constantFrom<EntryKind>('update', 'lifecycle', 'checkpoint'),
    time: fc.maxSafeNat(),
    origin: fc.string({ unit: 'grapheme', maxLength: 40 }),
    compressed: fc.boolean(),
    keyId: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), { nil: undefined }),
    payload: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ kind, time, origin, compressed, keyId, payload }) => {
    const flags = (compressed ? EntryFlags.compressed : 0) | (keyId === undefined ? 0 : EntryFlags.encrypted);
    const entry: EntryInput = { kind, time, origin, flags, payload };
    if (keyId !== undefined) entry.keyId = keyId;
    return entry;
  });

describe('encodeAppend', () => {
  it('writes exactly the bytes encodeEntry writes for seq 0', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { minLength: 1, maxLength: 8 }), (entries) => {
        const { frames, stored } = encodeAppend(entries, 'd');
        expect(frames.map((frame) => [...frame])).toEqual(
          entries.map((entry) => [...encodeEntry({ ...entry, seq: 0 })]),
        );
        expect(stored.map((entry) => ({ ...entry, payload: [...entry.payload] }))).toEqual(
          entries.map((entry) => ({ ...entry, payload: [...entry.payload], seq: 0 })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('copies the payloads once: stored entries share nothing with the input', () => {
    const payload = Uint8Array.of(1, 2, 3);
    const input: EntryInput = { kind: 'update', time: 7, origin: 'o', flags: 0, payload };
    const { frames, stored } = encodeAppend([input, { ...input, payload: Uint8Array.of(4) }], 'd');
    expect(stored[0]).toEqual({ kind: 'update', time: 7, origin: 'o', flags: 0, payload, seq: 0 });
    expect(stored[0]!.payload.constructor).toBe(Uint8Array);
    // Later changes to the input change neither the frame nor the stored entry ...
    payload.fill(9);
    input.origin = 'changed';
    expect([...stored[0]!.payload]).toEqual([1, 2, 3]);
    expect(stored[0]!.origin).toBe('o');
    expect([...frames[0]!]).toEqual([
      ...encodeEntry({ ...input, origin: 'o', payload: Uint8Array.of(1, 2, 3), seq: 0 }),
    ]);
    // ... and the stored payload is the frame's tail, not a second copy.
    expect(stored[0]!.payload.buffer).toBe(frames[0]!.buffer);
    expect([...stored[1]!.payload]).toEqual([4]);
  });

  it('refuses the whole batch when one entry is bad', () => {
    const good: EntryInput = { kind: 'update', time: 1, origin: 'o', flags: 0, payload: Uint8Array.of(1) };
    expect(() => encodeAppend([good, { ...good, flags: -1 }], 'd')).toThrow(/entry 1 for "d"/);
  });
});
