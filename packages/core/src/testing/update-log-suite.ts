/**
 * The acceptance suite every `UpdateLog` runs (memory, file, Redis, PostgreSQL), so they all keep
 * the same contract. Call it from a test file:
 *
 *   runUpdateLogTests('MemoryUpdateLog', async () => ({ log: new MemoryUpdateLog() }));
 */

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryFlags, type EntryInput, type EntryKind, type LogEntry } from '../log-entry.js';
import type { UpdateLog } from '../update-log.js';

/** What a setup hands the suite for one test. */
export interface UpdateLogTestContext {
  /** A fresh, empty log. The suite closes it after the test (unless the test already did). */
  log: UpdateLog;
  /** Releases what the setup made (temp dirs, servers, keys); runs after `log` is closed. */
  teardown?: () => Promise<void>;
  /** Opens the same storage again after `log` was closed; enables the durability test. */
  reopen?: () => Promise<UpdateLog>;
}

/** Makes the context of one test; called before every test. */
export type UpdateLogSetup = () => Promise<UpdateLogTestContext>;

/** Registers the `UpdateLog` acceptance tests under `name`. */
export function runUpdateLogTests(name: string, setup: UpdateLogSetup): void {
  describe(`UpdateLog acceptance: ${name}`, () => {
    let context: UpdateLogTestContext;
    let log: UpdateLog;
    let logClosed: boolean;

    beforeEach(async () => {
      context = await setup();
      log = context.log;
      logClosed = false;
    });

    afterEach(async () => {
      if (!logClosed) await log.close();
      await context.teardown?.();
    });

    describe('append', () => {
      it('assigns dense seqs from 1, continuing across batches', async () => {
        const first = await log.append('projects/42', [input(1), input(2)]);
        expect(first.map((e) => e.seq)).toEqual([1, 2]);
        const second = await log.append('projects/42', [input(3)]);
        expect(second.map((e) => e.seq)).toEqual([3]);
        const third = await log.append('projects/42', [input(4), input(5), input(6)]);
        expect(third.map((e) => e.seq)).toEqual([4, 5, 6]);
        expect(await log.head('projects/42')).toBe(6);
        expect(seqsOf(await log.read('projects/42'))).toEqual([1, 2, 3, 4, 5, 6]);
      });

      it('numbers each document independently', async () => {
        await log.append('projects/42', [input(1), input(2), input(3)]);
        const other = await log.append('runs/7f3a', [input(10)]);
        expect(seqsOf(other)).toEqual([1]);
        const more = await log.append('projects/42', [input(4)]);
        expect(seqsOf(more)).toEqual([4]);
        // A prefix of another id is a different document.
        expect(seqsOf(await log.append('projects/4', [input(20)]))).toEqual([1]);
        expect(await log.head('projects/42')).toBe(4);
        expect(await log.head('runs/7f3a')).toBe(1);
        expect(await log.head('projects/4')).toBe(1);
        expect((await log.read('runs/7f3a')).map(view)).toEqual([view(stored(input(10), 1))]);
      });

      it('resolves an empty batch with [] and changes nothing', async () => {
        expect(await log.append('empty', [])).toEqual([]);
        expect(await log.head('empty')).toBe(0);
        expect(await log.read('empty')).toEqual([]);
        expect(await log.docIds()).not.toContain('empty');

        await log.append('projects/42', [input(1), input(2)]);
        expect(await log.append('projects/42', [])).toEqual([]);
        expect(await log.head('projects/42')).toBe(2);
        expect(seqsOf(await log.append('projects/42', [input(3)]))).toEqual([3]);
      });

      it('returns the entries as stored, equal to what read gives back', async () => {
        const appended = await log.append('projects/42', [input(1), input(2, { kind: 'lifecycle' })]);
        expect(appended.map(view)).toEqual([
          view(stored(input(1), 1)),
          view(stored(input(2, { kind: 'lifecycle' }), 2)),
        ]);
        expect((await log.read('projects/42')).map(view)).toEqual(appended.map(view));
      });

      it('gives concurrent appends to one document dense, distinct, per-batch contiguous seqs', async () => {
        const batches = Array.from({ length: 24 }, (_, b) =>
          Array.from({ length: 1 + (b % 4) }, (_, i) => input(b * 10 + i, { origin: `writer-${b}` })),
        );
        const results = await Promise.all(batches.map((batch) => log.append('projects/42', batch)));
        const total = batches.reduce((sum, batch) => sum + batch.length, 0);

        const seqs = results.flatMap(seqsOf).sort((a, b) => a - b);
        expect(seqs).toEqual(range(1, total));
        results.forEach((result, b) => {
          expect(result).toHaveLength(batches[b]!.length);
          // A batch is appended as a unit: its seqs follow each other.
          expect(seqsOf(result)).toEqual(range(result[0]!.seq, result[0]!.seq + result.length - 1));
          expect(result.map(view)).toEqual(
            batches[b]!.map((entry, i) => view(stored(entry, result[0]!.seq + i))),
          );
        });
        expect(await log.head('projects/42')).toBe(total);
        const read = await log.read('projects/42');
        expect(seqsOf(read)).toEqual(range(1, total));
        expect(read.map(view)).toEqual(
          results
            .flat()
            .sort((a, b) => a.seq - b.seq)
            .map(view),
        );
      });

      it('keeps concurrent appends to different documents apart', async () => {
        const docs = ['a', 'b', 'c'];
        await Promise.all(
          docs.flatMap((docId) => range(1, 5).map((i) => log.append(docId, [input(i, { origin: docId })]))),
        );
        for (const docId of docs) {
          const read = await log.read(docId);
          expect(seqsOf(read)).toEqual([1, 2, 3, 4, 5]);
          expect(read.every((entry) => entry.origin === docId)).toBe(true);
        }
      });
    });

    describe('entries round-trip', () => {
      it('keeps every field exactly: kind, time, origin, flags, keyId and payload bytes', async () => {
        const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
        const large = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 31 + 7) & 0xff);
        const inputs: EntryInput[] = [
          { kind: 'update', time: 1_700_000_000_123, origin: 'node-1', flags: 0, payload: everyByte },
          {
            kind: 'lifecycle',
            time: 0,
            origin: '',
            flags: 0,
            payload: new TextEncoder().encode('{"run":"started"}'),
          },
          {
            kind: 'checkpoint',
            time: Number.MAX_SAFE_INTEGER,
            origin: 'agent/ümlaut ✓ 🚀',
            flags: 0,
            payload: large,
          },
          {
            kind: 'update',
            time: 42,
            origin: 'client-7',
            flags: EntryFlags.compressed,
            payload: new Uint8Array(0),
          },
          {
            kind: 'update',
            time: 43,
            origin: 'client-7',
            flags: EntryFlags.encrypted | EntryFlags.compressed,
            keyId: 'key-2024-01',
            payload: Uint8Array.of(0, 0, 255, 0),
          },
          {
            kind: 'lifecycle',
            time: 44,
            origin: 'x',
            flags: EntryFlags.encrypted,
            keyId: 'k',
            payload: Uint8Array.of(1),
          },
        ];
        const appended = await log.append('projects/42', inputs);
        const expected = inputs.map((entry, i) => view(stored(entry, i + 1)));
        expect(appended.map(view)).toEqual(expected);
        const read = await log.read('projects/42');
        expect(read.map(view)).toEqual(expected);
        for (const entry of read) {
          expect(entry.payload).toBeInstanceOf(Uint8Array);
          if ((entry.flags & EntryFlags.encrypted) === 0) expect(entry.keyId).toBeUndefined();
        }
      });

      it('is not changed by mutating what was appended or read', async () => {
        const payload = Uint8Array.of(1, 2, 3);
        const [appended] = await log.append('projects/42', [input(1, { payload })]);
        payload.fill(9);
        appended!.payload.fill(8);
        appended!.origin = 'changed';
        const [read] = await log.read('projects/42');
        read!.payload.fill(7);
        read!.seq = 99;
        expect((await log.read('projects/42')).map(view)).toEqual([
          view(stored(input(1, { payload: Uint8Array.of(1, 2, 3) }), 1)),
        ]);
      });
    });

    describe('read', () => {
      it('returns [] for a document without a log, whatever the range', async () => {
        expect(await log.read('nothing')).toEqual([]);
        expect(await log.read('nothing', { from: 1, to: 10 })).toEqual([]);
        expect(await log.head('nothing')).toBe(0);
      });

      it('reads inclusive ranges with open ends', async () => {
        await log.append(
          'projects/42',
          range(1, 5).map((i) => input(i)),
        );
        const cases: [{ from?: number; to?: number }, number[]][] = [
          [{}, [1, 2, 3, 4, 5]],
          [{ from: 2, to: 4 }, [2, 3, 4]],
          [{ from: 3 }, [3, 4, 5]],
          [{ to: 2 }, [1, 2]],
          [{ from: 4, to: 4 }, [4]],
          [{ from: 1, to: 5 }, [1, 2, 3, 4, 5]],
          [{ from: 0 }, [1, 2, 3, 4, 5]],
          [{ from: 4, to: 10 }, [4, 5]],
          [{ from: 6 }, []],
          [{ from: 6, to: 9 }, []],
          [{ to: 0 }, []],
          [{ from: 4, to: 3 }, []],
        ];
        for (const [seqRange, seqs] of cases) {
          const read = await log.read('projects/42', seqRange);
          expect({ seqRange, seqs: seqsOf(read) }).toEqual({ seqRange, seqs });
          expect(read.map(view)).toEqual(seqs.map((seq) => view(stored(input(seq), seq))));
        }
        expect(seqsOf(await log.read('projects/42', undefined))).toEqual([1, 2, 3, 4, 5]);
      });
    });

    describe('prune', () => {
      it('drops entries below seq, keeps the rest readable and head unchanged', async () => {
        await log.append(
          'projects/42',
          range(1, 6).map((i) => input(i)),
        );
        await log.prune('projects/42', 4);
        expect(await log.head('projects/42')).toBe(6);
        expect((await log.read('projects/42')).map(view)).toEqual(
          range(4, 6).map((s) => view(stored(input(s), s))),
        );
        expect(seqsOf(await log.read('projects/42', { to: 3 }))).toEqual([]);
        expect(seqsOf(await log.read('projects/42', { from: 1, to: 4 }))).toEqual([4]);
        expect(seqsOf(await log.read('projects/42', { from: 5 }))).toEqual([5, 6]);
        expect(await log.docIds()).toContain('projects/42');
      });

      it('lets appends continue after the head', async () => {
        await log.append(
          'projects/42',
          range(1, 3).map((i) => input(i)),
        );
        await log.prune('projects/42', 3);
        expect(seqsOf(await log.append('projects/42', [input(4), input(5)]))).toEqual([4, 5]);
        expect(seqsOf(await log.read('projects/42'))).toEqual([3, 4, 5]);
        expect(await log.head('projects/42')).toBe(5);
      });

      it('can drop everything without lowering head', async () => {
        await log.append(
          'projects/42',
          range(1, 3).map((i) => input(i)),
        );
        await log.prune('projects/42', 100);
        expect(await log.read('projects/42')).toEqual([]);
        expect(await log.head('projects/42')).toBe(3);
        expect(seqsOf(await log.append('projects/42', [input(4)]))).toEqual([4]);
        expect(seqsOf(await log.read('projects/42'))).toEqual([4]);
      });

      it('is a no-op at or below the first retained seq, and on other documents', async () => {
        await log.append(
          'projects/42',
          range(1, 4).map((i) => input(i)),
        );
        await log.append(
          'runs/7f3a',
          range(1, 4).map((i) => input(i)),
        );
        await log.prune('projects/42', 1);
        await log.prune('projects/42', 0);
        expect(seqsOf(await log.read('projects/42'))).toEqual([1, 2, 3, 4]);
        await log.prune('projects/42', 3);
        await log.prune('projects/42', 2);
        expect(seqsOf(await log.read('projects/42'))).toEqual([3, 4]);
        expect(seqsOf(await log.read('runs/7f3a'))).toEqual([1, 2, 3, 4]);
        await log.prune('nothing', 5);
        expect(await log.head('nothing')).toBe(0);
      });

      it('drops checkpoints made obsolete by a newer one at or below seq', async () => {
        await log.append(
          'projects/42',
          range(1, 10).map((i) => input(i)),
        );
        for (const seq of [3, 6, 9]) await log.storeCheckpoint('projects/42', checkpointAt(seq));
        await log.prune('projects/42', 7);
        expect((await log.latestCheckpoint('projects/42'))?.seq).toBe(9);
        // 6 is the newest at or below 7, so loading from 7 still has a base; 3 is obsolete.
        expect((await log.latestCheckpoint('projects/42', 8))?.seq).toBe(6);
        expect(await log.latestCheckpoint('projects/42', 5)).toBeUndefined();
      });
    });

    describe('checkpoints', () => {
      it('answers undefined when there is none', async () => {
        expect(await log.latestCheckpoint('nothing')).toBeUndefined();
        await log.append('projects/42', [input(1), input(2)]);
        expect(await log.latestCheckpoint('projects/42')).toBeUndefined();
        expect(await log.latestCheckpoint('projects/42', 2)).toBeUndefined();
      });

      it('finds the latest, or the latest at or before a seq', async () => {
        await log.append(
          'projects/42',
          range(1, 10).map((i) => input(i)),
        );
        for (const seq of [3, 6, 9]) await log.storeCheckpoint('projects/42', checkpointAt(seq));
        expect(view((await log.latestCheckpoint('projects/42'))!)).toEqual(view(checkpointAt(9)));
        expect(view((await log.latestCheckpoint('projects/42', 100))!)).toEqual(view(checkpointAt(9)));
        expect(view((await log.latestCheckpoint('projects/42', 9))!)).toEqual(view(checkpointAt(9)));
        expect(view((await log.latestCheckpoint('projects/42', 8))!)).toEqual(view(checkpointAt(6)));
        expect(view((await log.latestCheckpoint('projects/42', 6))!)).toEqual(view(checkpointAt(6)));
        expect(view((await log.latestCheckpoint('projects/42', 3))!)).toEqual(view(checkpointAt(3)));
        expect(await log.latestCheckpoint('projects/42', 2)).toBeUndefined();
      });

      it('keeps every field exactly and stays beside the log', async () => {
        await log.append(
          'projects/42',
          range(1, 4).map((i) => input(i)),
        );
        const checkpoint: LogEntry = {
          seq: 4,
          kind: 'checkpoint',
          time: 1_700_000_000_999,
          origin: 'compactor',
          flags: EntryFlags.compressed | EntryFlags.encrypted,
          keyId: 'key-7',
          payload: Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff),
        };
        await log.storeCheckpoint('projects/42', checkpoint);
        expect(view((await log.latestCheckpoint('projects/42'))!)).toEqual(view(checkpoint));
        // Stored beside the log: not an entry, and head does not move.
        expect(seqsOf(await log.read('projects/42'))).toEqual([1, 2, 3, 4]);
        expect(await log.head('projects/42')).toBe(4);
        expect(seqsOf(await log.append('projects/42', [input(5)]))).toEqual([5]);
      });

      it('belongs to one document', async () => {
        await log.append(
          'projects/42',
          range(1, 4).map((i) => input(i)),
        );
        await log.append(
          'runs/7f3a',
          range(1, 4).map((i) => input(i)),
        );
        await log.storeCheckpoint('projects/42', checkpointAt(4));
        expect(await log.latestCheckpoint('runs/7f3a')).toBeUndefined();
        expect((await log.latestCheckpoint('projects/42'))?.seq).toBe(4);
      });
    });

    describe('docIds', () => {
      it('lists every document that has a log, ids exactly as given', async () => {
        expect(await log.docIds()).toEqual([]);
        const ids = ['projects/42', 'projects/4', 'runs/7f3a', 'notes/café au lait', 'a%2Fb'];
        for (const docId of ids) await log.append(docId, [input(1)]);
        expect([...(await log.docIds())].sort()).toEqual([...ids].sort());
      });
    });

    describe('durability', () => {
      it('keeps entries, head and checkpoints across close and reopen', async ({ skip }) => {
        const reopen = context.reopen;
        if (reopen === undefined) {
          skip('the setup provides no reopen');
          return;
        }
        const inputs = range(1, 5).map((i) =>
          input(i, i === 5 ? { flags: EntryFlags.encrypted, keyId: 'key-1' } : {}),
        );
        await log.append('projects/42', inputs);
        await log.append('runs/7f3a', [input(1)]);
        await log.storeCheckpoint('projects/42', checkpointAt(3));
        await log.prune('projects/42', 2);
        await log.close();
        logClosed = true;

        const reopened = await reopen();
        log = reopened;
        logClosed = false;
        expect(await reopened.head('projects/42')).toBe(5);
        expect((await reopened.read('projects/42')).map(view)).toEqual(
          inputs.slice(1).map((entry, i) => view(stored(entry, i + 2))),
        );
        expect(view((await reopened.latestCheckpoint('projects/42'))!)).toEqual(view(checkpointAt(3)));
        expect([...(await reopened.docIds())].sort()).toEqual(['projects/42', 'runs/7f3a']);
        expect(seqsOf(await reopened.append('projects/42', [input(6)]))).toEqual([6]);
        expect(seqsOf(await reopened.append('runs/7f3a', [input(2)]))).toEqual([2]);
      });
    });

    describe('properties', () => {
      it('reads any sequence of batch appends back in order, with seqs 1..n', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(entryInputArbitrary, { maxLength: 6 }), { maxLength: 10 }),
            async (batches) => {
              const docId = `property/${run++}`;
              let next = 1;
              for (const batch of batches) {
                const appended = await log.append(docId, batch);
                expect(appended.map(view)).toEqual(batch.map((entry, i) => view(stored(entry, next + i))));
                next += batch.length;
              }
              const all = batches.flat();
              expect(await log.head(docId)).toBe(all.length);
              expect((await log.read(docId)).map(view)).toEqual(
                all.map((entry, i) => view(stored(entry, i + 1))),
              );
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe('appendMany (when the log has it)', () => {
      it('appends to several documents at once, each batch continuing its own seqs, results in the order given', async ({
        skip,
      }) => {
        if (!log.appendMany) {
          skip('the log has no appendMany');
          return;
        }
        await log.append('projects/42', [input(1)]);
        const results = await log.appendMany([
          { docId: 'projects/42', entries: [input(2), input(3)] },
          { docId: 'runs/7f3a', entries: [input(10)] },
          { docId: 'empty', entries: [] },
          { docId: 'projects/4', entries: range(20, 24).map((n) => input(n)) },
        ]);
        expect(results.map((result) => result.status)).toEqual([
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'fulfilled',
        ]);
        const values = results.map((result) => (result as PromiseFulfilledResult<LogEntry[]>).value);
        expect(values[0]!.map(view)).toEqual([view(stored(input(2), 2)), view(stored(input(3), 3))]);
        expect(values[1]!.map(view)).toEqual([view(stored(input(10), 1))]);
        expect(values[2]).toEqual([]);
        expect(values[3]!.map(view)).toEqual(range(20, 24).map((n, i) => view(stored(input(n), i + 1))));
        expect(seqsOf(await log.read('projects/42'))).toEqual([1, 2, 3]);
        expect((await log.read('projects/4')).map(view)).toEqual(values[3]!.map(view));
        expect(await log.head('empty')).toBe(0);
        expect(await log.appendMany([])).toEqual([]);
      });

      it('settles each batch on its own: a malformed one is refused alone, storing nothing of it', async ({
        skip,
      }) => {
        if (!log.appendMany) {
          skip('the log has no appendMany');
          return;
        }
        const malformed = { ...input(2), time: -1 };
        const results = await log.appendMany([
          { docId: 'a', entries: [input(1)] },
          { docId: 'b', entries: [input(1), malformed] },
          { docId: 'c', entries: [input(1)] },
        ]);
        expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_VALUE' });
        expect(await log.head('b')).toBe(0);
        expect(seqsOf(await log.read('a'))).toEqual([1]);
        expect(seqsOf(await log.read('c'))).toEqual([1]);
      });

      it('keeps seqs dense when appendMany and append run concurrently on the same documents', async ({
        skip,
      }) => {
        const appendMany = log.appendMany?.bind(log);
        if (appendMany === undefined) {
          skip('the log has no appendMany');
          return;
        }
        const docs = ['a', 'b', 'c'];
        const calls: Promise<LogEntry[][]>[] = [];
        for (const round of range(1, 10)) {
          calls.push(
            appendMany(docs.map((docId) => ({ docId, entries: [input(round), input(round + 100)] }))).then(
              (results) => results.map((result) => (result as PromiseFulfilledResult<LogEntry[]>).value),
            ),
          );
          calls.push(Promise.all(docs.map((docId) => log.append(docId, [input(round + 200)]))));
        }
        const batches = (await Promise.all(calls)).flat();
        for (const batch of batches) {
          // Each batch is contiguous.
          expect(seqsOf(batch)).toEqual(range(batch[0]!.seq, batch[0]!.seq + batch.length - 1));
        }
        for (const docId of docs) {
          expect(seqsOf(await log.read(docId))).toEqual(range(1, 30));
          expect(await log.head(docId)).toBe(30);
        }
      });
    });
  });
}

const kindArbitrary = fc.constantFrom<EntryKind>('update', 'lifecycle', 'checkpoint');

/** Entries as callers make them; origins without NUL, which text columns (PostgreSQL) cannot hold. */
const entryInputArbitrary: fc.Arbitrary<EntryInput> = fc
  .record({
    kind: kindArbitrary,
    time: fc.maxSafeNat(),
    origin: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replaceAll('\u0000', '')),
    compressed: fc.boolean(),
    keyId: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    payload: fc.uint8Array({ maxLength: 48 }),
  })
  .map(({ kind, time, origin, compressed, keyId, payload }) => {
    const flags = (compressed ? EntryFlags.compressed : 0) | (keyId === undefined ? 0 : EntryFlags.encrypted);
    const entry: EntryInput = { kind, time, origin, flags, payload };
    if (keyId !== undefined) entry.keyId = keyId;
    return entry;
  });

/** A recognisable entry: its fields and payload derive from `n`. */
function input(n: number, overrides: Partial<EntryInput> = {}): EntryInput {
  return {
    kind: 'update',
    time: 1_700_000_000_000 + n,
    origin: `node-${n % 3}`,
    flags: 0,
    payload: Uint8Array.of(n & 0xff, (n >> 8) & 0xff, 0xab),
    ...overrides,
  };
}

function stored(entry: EntryInput, seq: number): LogEntry {
  return { ...entry, seq };
}

function checkpointAt(seq: number): LogEntry {
  return {
    seq,
    kind: 'checkpoint',
    time: 1_700_000_100_000 + seq,
    origin: 'checkpointer',
    flags: EntryFlags.compressed,
    payload: Uint8Array.of(0xc0, seq & 0xff, 0xff),
  };
}

/** An entry as plain data, so comparisons see the bytes whatever Uint8Array subclass holds them. */
function view(entry: LogEntry): Record<string, unknown> {
  const plain: Record<string, unknown> = {
    seq: entry.seq,
    kind: entry.kind,
    time: entry.time,
    origin: entry.origin,
    flags: entry.flags,
    payload: Array.from(entry.payload),
  };
  if (entry.keyId !== undefined) plain.keyId = entry.keyId;
  return plain;
}

function seqsOf(entries: readonly LogEntry[]): number[] {
  return entries.map((entry) => entry.seq);
}

/** The integers from `first` to `last`, inclusive. */
function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}
