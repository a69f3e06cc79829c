import { EntryFlags, type EntryInput, isYStateError, type LogEntry } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import {
  appendFrames,
  entriesPayload,
  parseEntriesPayload,
  parseSignalBody,
  parseSignalPayload,
  signalBody,
} from './notification.js';

const entries: LogEntry[] = [
  {
    seq: 7,
    kind: 'update',
    time: 1_700_000_000_000,
    origin: 'n1',
    flags: 0,
    payload: Uint8Array.of(1, 2, 3),
  },
  {
    seq: 8,
    kind: 'lifecycle',
    time: 0,
    origin: 'ümlaut ✓',
    flags: EntryFlags.encrypted,
    keyId: 'k',
    payload: new Uint8Array(0),
  },
];

describe('notification payloads', () => {
  it('carry an append inline, numbered from the seq the database assigned', () => {
    const inputs: EntryInput[] = entries.map(({ seq: _seq, ...input }) => input);
    const message = parseEntriesPayload(`a:41:${appendFrames(inputs)}`);
    expect(message).toEqual({
      type: 'entries',
      entries: entries.map((entry, i) => ({ ...entry, seq: 41 + i })),
    });
  });

  it('carry published entries with their own seqs, ranges and spill references', () => {
    expect(parseEntriesPayload(entriesPayload(entries))).toEqual({ type: 'entries', entries });
    expect(parseEntriesPayload('r:3:9')).toEqual({ type: 'range', from: 3, to: 9 });
    expect(parseEntriesPayload('s:123')).toEqual({ type: 'spilled', id: '123' });
  });

  it('are ASCII and stay small for small entries', () => {
    const payload = entriesPayload(entries);
    expect(/^[\x20-\x7e]*$/.test(payload)).toBe(true);
    expect(payload.length).toBeLessThan(100);
  });

  it('refuse what they do not know, a spill inside a spill, and broken frames', () => {
    for (const bad of ['', 'x:1', 'r:1', 'r:a:2', 'a::AAAA', 's:', 's:1x', 'e:%%%']) {
      expect(() => parseEntriesPayload(bad), bad).toThrow();
    }
    expect(() => parseEntriesPayload('s:5', true)).toThrow();
    let error: unknown;
    try {
      parseEntriesPayload('e:AAAA');
    } catch (caught) {
      error = caught;
    }
    expect(isYStateError(error, 'CORRUPT_ENTRY')).toBe(true);
  });

  it('name the sender of a signal, inline or spilled', () => {
    const message = Uint8Array.of(0, 255, 7);
    expect(parseSignalPayload(`abc:${signalBody(message)}`)).toEqual({
      type: 'signal',
      sender: 'abc',
      message,
    });
    expect(parseSignalPayload('abc:s:42')).toEqual({ type: 'spilled', sender: 'abc', id: '42' });
    expect(parseSignalBody(signalBody(message))).toEqual(message);
    for (const bad of [':g:AA', 'abc', 'abc:x:1', 'abc:s:'])
      expect(() => parseSignalPayload(bad), bad).toThrow();
  });
});
