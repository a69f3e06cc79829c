import { open as openFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ErrorCode, encodeEntry, type LogEntry } from '@ystate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CorruptionReport, RecoveryReport } from '../src/index.js';
import { HEADER_SIZE, RECORD_OVERHEAD } from '../src/record.js';
import { checkpointAt, input, range, stored, storeFixture, view } from './helpers.js';

const store = storeFixture();

/** A record as the log writes it, for hand-made tails. */
function record(frame: Uint8Array, checksum = crc32(frame)): Buffer {
  const bytes = Buffer.alloc(RECORD_OVERHEAD + frame.length);
  bytes.writeUInt32BE(frame.length, 0);
  bytes.writeUInt32BE(checksum, 4);
  bytes.set(frame, RECORD_OVERHEAD);
  return bytes;
}

/** The size of the log file holding `input(1..n)` with the given payload size. */
function sizeOf(n: number, payloadSize = 3): number {
  let size = HEADER_SIZE;
  for (const seq of range(1, n)) size += RECORD_OVERHEAD + encodeEntry(stored(seq, seq, payloadSize)).length;
  return size;
}

async function appendBytes(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await openFile(file, 'a');
  await handle.write(bytes);
  await handle.close();
}

/** Writes 5 entries to `doc`, damages the file's end with `damage`, reopens and checks recovery. */
async function recoverAfter(
  damage: (file: string) => Promise<void>,
  expected: { validEntries: number; truncatedBytes: number },
): Promise<void> {
  const dir = await store.dir();
  const file = join(dir, 'doc.log');
  const log = await store.open({ dir });
  await log.append(
    'doc',
    range(1, 5).map((n) => input(n)),
  );
  await log.close();
  await damage(file);

  const reports: RecoveryReport[] = [];
  const reopened = await store.open({ dir, onRecovery: (report) => reports.push(report) });
  const valid = expected.validEntries;
  expect((await reopened.read('doc')).map(view)).toEqual(range(1, valid).map((n) => view(stored(n, n))));
  expect(reports).toEqual([{ docId: 'doc', file, ...expected }]);
  expect(await reopened.head('doc')).toBe(valid);
  expect((await stat(file)).size).toBe(sizeOf(valid));
  expect((await reopened.append('doc', [input(100)])).map((entry) => entry.seq)).toEqual([valid + 1]);
  await reopened.close();

  // The repair is durable: the next open finds nothing to cut.
  const again = await store.open({ dir, onRecovery: (report) => reports.push(report) });
  expect((await again.read('doc')).map((entry) => entry.seq)).toEqual(range(1, valid + 1));
  expect(reports).toHaveLength(1);
}

describe('recovery of a torn or corrupt tail', () => {
  it('cuts garbage appended after the last record', async () => {
    const garbage = Buffer.from('garbage after the last record');
    await recoverAfter((file) => appendBytes(file, garbage), {
      validEntries: 5,
      truncatedBytes: garbage.length,
    });
  });

  it('cuts a record whose data is short (torn in the middle)', async () => {
    await recoverAfter((file) => truncate(file, sizeOf(5) - 4), {
      validEntries: 4,
      truncatedBytes: sizeOf(5) - 4 - sizeOf(4),
    });
  });

  it('cuts a record whose length field is short (torn in its header)', async () => {
    await recoverAfter((file) => truncate(file, sizeOf(4) + 3), { validEntries: 4, truncatedBytes: 3 });
  });

  it('cuts a record whose CRC does not match', async () => {
    await recoverAfter(
      async (file) => {
        const handle = await openFile(file, 'r+');
        await handle.write(Uint8Array.of(0x5a), 0, 1, sizeOf(5) - 1);
        await handle.close();
      },
      { validEntries: 4, truncatedBytes: sizeOf(5) - sizeOf(4) },
    );
  });

  it('cuts a record with a valid CRC whose frame does not decode', async () => {
    const bad = record(Uint8Array.of(0xff, 0xff, 0xff));
    await recoverAfter((file) => appendBytes(file, bad), { validEntries: 5, truncatedBytes: bad.length });
  });

  it('cuts a well-formed record that does not continue the seqs', async () => {
    const stray = record(encodeEntry(stored(7, 7)));
    await recoverAfter((file) => appendBytes(file, stray), { validEntries: 5, truncatedBytes: stray.length });
  });

  it('cuts a zero-filled tail, as a file system may leave after a crash', async () => {
    await recoverAfter((file) => appendBytes(file, new Uint8Array(4096)), {
      validEntries: 5,
      truncatedBytes: 4096,
    });
  });

  it('cuts a length that points far beyond the end of the file without reading it', async () => {
    const header = Buffer.alloc(RECORD_OVERHEAD);
    header.writeUInt32BE(0xffff_fff0, 0);
    await recoverAfter((file) => appendBytes(file, header), {
      validEntries: 5,
      truncatedBytes: RECORD_OVERHEAD,
    });
  });

  it('recovers the whole records before any cut point (property)', async () => {
    const dir = await store.dir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (payloadSizes, where) => {
          const docId = `doc-${run++}`;
          const entries = payloadSizes.map((size, i) => input(i + 1, size));
          const log = await store.open({ dir });
          await log.append(docId, entries);
          await log.close();
          // Record ends, then a cut anywhere from just after the header to the end of the file.
          const ends: number[] = [];
          let size = HEADER_SIZE;
          entries.forEach((entry, i) => {
            size += RECORD_OVERHEAD + encodeEntry({ ...entry, seq: i + 1 }).length;
            ends.push(size);
          });
          const cut = HEADER_SIZE + Math.floor(where * (size - HEADER_SIZE));
          const file = join(dir, `${docId}.log`);
          await truncate(file, cut);

          const reports: RecoveryReport[] = [];
          const reopened = await store.open({ dir, onRecovery: (report) => reports.push(report) });
          const whole = ends.filter((end) => end <= cut).length;
          const read = await reopened.read(docId);
          expect(read.map(view)).toEqual(
            entries.slice(0, whole).map((entry, i) => view({ ...entry, seq: i + 1 })),
          );
          const validEnd = whole === 0 ? HEADER_SIZE : ends[whole - 1]!;
          expect(reports).toEqual(
            cut === validEnd ? [] : [{ docId, file, truncatedBytes: cut - validEnd, validEntries: whole }],
          );
          expect((await reopened.append(docId, [input(99)]))[0]!.seq).toBe(whole + 1);
          await reopened.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a corrupt record in the middle with CORRUPT_ENTRY, reporting what lies after it, and cuts nothing', async () => {
    const dir = await store.dir();
    const file = join(dir, 'doc.log');
    const log = await store.open({ dir });
    await log.append(
      'doc',
      range(1, 5).map((n) => input(n)),
    );
    await log.close();
    const handle = await openFile(file, 'r+');
    await handle.write(Uint8Array.of(0x5a), 0, 1, sizeOf(2) - 1);
    await handle.close();

    const reports: RecoveryReport[] = [];
    const corruptions: CorruptionReport[] = [];
    const reopened = await store.open({
      dir,
      onRecovery: (report) => reports.push(report),
      onCorruption: (report) => corruptions.push(report),
    });
    await expect(reopened.read('doc')).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    await expect(reopened.append('doc', [input(6)])).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    expect(reports).toEqual([]);
    expect(corruptions).toEqual([
      {
        docId: 'doc',
        file,
        damagedAt: sizeOf(1),
        validEntries: 1,
        firstLostSeq: 2,
        lastFoundSeq: 5,
        lostEntries: 4,
        wholeEntriesAfter: 3,
        lostBytes: sizeOf(5) - sizeOf(1),
      },
    ]);
    expect((await stat(file)).size).toBe(sizeOf(5));
  });

  it('cuts a torn checkpoint record and keeps the checkpoints before it', async () => {
    const dir = await store.dir();
    const file = join(dir, 'doc.ckpt');
    const log = await store.open({ dir });
    await log.append(
      'doc',
      range(1, 5).map((n) => input(n)),
    );
    await log.storeCheckpoint('doc', checkpointAt(2));
    await log.storeCheckpoint('doc', checkpointAt(4, 1000));
    await log.close();
    const { size } = await stat(file);
    await truncate(file, size - 500);

    const reports: RecoveryReport[] = [];
    const reopened = await store.open({ dir, onRecovery: (report) => reports.push(report) });
    expect(view((await reopened.latestCheckpoint('doc'))!)).toEqual(view(checkpointAt(2)));
    const firstEnd = HEADER_SIZE + RECORD_OVERHEAD + encodeEntry(checkpointAt(2)).length;
    expect(reports).toEqual([{ docId: 'doc', file, truncatedBytes: size - 500 - firstEnd, validEntries: 1 }]);
    // The log itself is untouched.
    expect(await reopened.head('doc')).toBe(5);
  });

  it('keeps the repair when the onRecovery hook throws, and shows the hook error to the call that ran it', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append('doc', [input(1), input(2)]);
    await log.close();
    await appendBytes(join(dir, 'doc.log'), Buffer.from('torn'));

    const reopened = await store.open({
      dir,
      onRecovery: () => {
        throw new Error('hook failed');
      },
    });
    await expect(reopened.read('doc')).rejects.toMatchObject({ cause: { message: 'hook failed' } });
    expect((await reopened.read('doc')).map((entry: LogEntry) => entry.seq)).toEqual([1, 2]);
    expect((await reopened.append('doc', [input(3)]))[0]!.seq).toBe(3);
  });

  it('removes temp files a crash left behind during a rewrite, keeping the file they were to replace', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append('doc', [input(1), input(2)]);
    await log.close();
    await writeFile(join(dir, 'doc.log.tmp'), 'half a rewrite');
    await writeFile(join(dir, 'doc.ckpt.tmp'), 'half a rewrite');

    const reopened = await store.open({ dir });
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'doc.log']);
    expect((await reopened.read('doc')).map((entry) => entry.seq)).toEqual([1, 2]);
  });
});
