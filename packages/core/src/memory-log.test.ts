import { describe, expect, it } from 'vitest';
import { ErrorCode, isYStateError } from './errors.js';
import { EntryFlags, type EntryInput, type LogEntry } from './log-entry.js';
import { MemoryUpdateLog } from './memory-log.js';
import { runUpdateLogTests } from './testing/update-log-suite.js';
import type { UpdateLog } from './update-log.js';

runUpdateLogTests('MemoryUpdateLog', async () => ({ log: new MemoryUpdateLog() }));

// A memory log does not outlive close(); this view of one does, so the suite's durability test
// (which only runs when a setup can reopen) is exercised here too.
runUpdateLogTests('MemoryUpdateLog behind a reopenable view', async () => {
  const storage = new MemoryUpdateLog();
  return {
    log: reopenableView(storage),
    reopen: async () => reopenableView(storage),
    teardown: () => storage.close(),
  };
});

function reopenableView(storage: UpdateLog): UpdateLog {
  let open = true;
  const use = <T>(call: () => Promise<T>): Promise<T> =>
    open ? call() : Promise.reject(new Error('this view was closed'));
  return {
    append: (docId, entries) => use(() => storage.append(docId, entries)),
    read: (docId, range) => use(() => storage.read(docId, range)),
    head: (docId) => use(() => storage.head(docId)),
    latestCheckpoint: (docId, atOrBefore) => use(() => storage.latestCheckpoint(docId, atOrBefore)),
    storeCheckpoint: (docId, checkpoint) => use(() => storage.storeCheckpoint(docId, checkpoint)),
    prune: (docId, seq) => use(() => storage.prune(docId, seq)),
    docIds: () => use(() => storage.docIds()),
    close: async () => {
      open = false;
    },
  };
}

const good: EntryInput = { kind: 'update', time: 1, origin: 'n', flags: 0, payload: Uint8Array.of(1) };

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isYStateError(error, code), `expected a YStateError ${code}, got ${String(error)}`).toBe(true);
}

describe('MemoryUpdateLog', () => {
  it('copies payloads when called, so a caller reusing its buffer changes nothing', async () => {
    const log = new MemoryUpdateLog();
    const payload = Uint8Array.of(1, 2, 3);
    const pending = log.append('d', [{ ...good, payload }]);
    payload.fill(0);
    expect(Array.from((await pending)[0]!.payload)).toEqual([1, 2, 3]);
    expect(Array.from((await log.read('d'))[0]!.payload)).toEqual([1, 2, 3]);
  });

  it('stores the bytes of a Node Buffer as a plain copy', async () => {
    const log = new MemoryUpdateLog();
    const buffer = Buffer.from([5, 6, 7]);
    await log.append('d', [{ ...good, payload: buffer }]);
    buffer.fill(0);
    const [read] = await log.read('d');
    expect(read!.payload.constructor).toBe(Uint8Array);
    expect(Array.from(read!.payload)).toEqual([5, 6, 7]);
  });

  it.each<[string, Partial<EntryInput>]>([
    ['an unknown kind', { kind: 'snapshot' as EntryInput['kind'] }],
    ['a negative time', { time: -1 }],
    ['a fractional time', { time: 1.5 }],
    ['a NaN time', { time: Number.NaN }],
    ['negative flags', { flags: -1 }],
    ['encrypted without keyId', { flags: EntryFlags.encrypted }],
    ['a keyId without the encrypted flag', { keyId: 'k' }],
    ['a payload that is not bytes', { payload: [1, 2] as unknown as Uint8Array }],
  ])('rejects a batch with %s as INVALID_VALUE and appends none of it', async (_, override) => {
    const log = new MemoryUpdateLog();
    await log.append('d', [good]);
    await rejectsWith(log.append('d', [good, { ...good, ...override }]), ErrorCode.INVALID_VALUE);
    expect(await log.head('d')).toBe(1);
    expect((await log.read('d')).map((e) => e.seq)).toEqual([1]);
  });

  it('rejects a checkpoint that is not kind checkpoint or names no appended entry', async () => {
    const log = new MemoryUpdateLog();
    const checkpoint: LogEntry = { ...good, kind: 'checkpoint', seq: 1 };
    await rejectsWith(log.storeCheckpoint('d', checkpoint), ErrorCode.INVALID_VALUE);
    await log.append('d', [good, good]);
    await rejectsWith(log.storeCheckpoint('d', { ...checkpoint, kind: 'update' }), ErrorCode.INVALID_VALUE);
    await rejectsWith(log.storeCheckpoint('d', { ...checkpoint, seq: 3 }), ErrorCode.INVALID_VALUE);
    await rejectsWith(log.storeCheckpoint('d', { ...checkpoint, seq: 0 }), ErrorCode.INVALID_VALUE);
    expect(await log.latestCheckpoint('d')).toBeUndefined();
    await log.storeCheckpoint('d', { ...checkpoint, seq: 2 });
    expect((await log.latestCheckpoint('d'))?.seq).toBe(2);
  });

  it('replaces a checkpoint stored again at the same seq', async () => {
    const log = new MemoryUpdateLog();
    await log.append('d', [good, good]);
    await log.storeCheckpoint('d', { ...good, kind: 'checkpoint', seq: 2, origin: 'first' });
    await log.storeCheckpoint('d', { ...good, kind: 'checkpoint', seq: 1, origin: 'older' });
    await log.storeCheckpoint('d', { ...good, kind: 'checkpoint', seq: 2, origin: 'second' });
    expect((await log.latestCheckpoint('d'))?.origin).toBe('second');
    expect((await log.latestCheckpoint('d', 1))?.origin).toBe('older');
  });

  it('rejects a NaN range bound or prune seq as INVALID_VALUE', async () => {
    const log = new MemoryUpdateLog();
    await log.append('d', [good]);
    await rejectsWith(log.read('d', { from: Number.NaN }), ErrorCode.INVALID_VALUE);
    await rejectsWith(log.read('d', { to: Number.NaN }), ErrorCode.INVALID_VALUE);
    await rejectsWith(log.prune('d', Number.NaN), ErrorCode.INVALID_VALUE);
    expect((await log.read('d')).map((e) => e.seq)).toEqual([1]);
  });

  it('drops everything on close and rejects later calls with DOCUMENT_CLOSED', async () => {
    const log = new MemoryUpdateLog();
    await log.append('d', [good]);
    await log.close();
    await log.close();
    await rejectsWith(log.append('d', [good]), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(log.read('d'), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(log.head('d'), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(log.docIds(), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(log.latestCheckpoint('d'), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(log.prune('d', 1), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(
      log.storeCheckpoint('d', { ...good, kind: 'checkpoint', seq: 1 }),
      ErrorCode.DOCUMENT_CLOSED,
    );
  });
});
