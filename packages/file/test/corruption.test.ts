/**
 * Damage before the tail of a log file is never repaired silently: the document refuses to open
 * with CORRUPT_ENTRY, says what lies after the damage, and `salvage` keeps the valid prefix only
 * when asked, with a copy of the damaged file beside it.
 */

import { open as openFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, encodeEntry } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import type { CorruptionReport, RecoveryReport } from '../src/index.js';
import { HEADER_SIZE, RECORD_OVERHEAD } from '../src/record.js';
import { checkpointAt, input, range, stored, storeFixture, view } from './helpers.js';

const store = storeFixture();
const PAYLOAD = 40;

/** Where the record of seq `seq` starts in a log of `input(n, PAYLOAD)` entries from seq 1. */
function offsetOf(seq: number): number {
  let offset = HEADER_SIZE;
  for (const n of range(1, seq - 1)) offset += RECORD_OVERHEAD + encodeEntry(stored(n, n, PAYLOAD)).length;
  return offset;
}

/** A store directory whose `doc` holds `count` entries, written in batches of 500. */
async function writtenLog(count: number): Promise<{ dir: string; file: string }> {
  const dir = await store.dir();
  const log = await store.open({ dir });
  for (let first = 1; first <= count; first += 500) {
    await log.append(
      'doc',
      range(first, Math.min(count, first + 499)).map((n) => input(n, PAYLOAD)),
    );
  }
  await log.close();
  return { dir, file: join(dir, 'doc.log') };
}

async function flipByte(file: string, position: number): Promise<void> {
  const handle = await openFile(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, position);
  await handle.write(Uint8Array.of(byte[0]! ^ 0x10), 0, 1, position);
  await handle.close();
}

describe('damage before the tail of a 7,000-entry log', () => {
  it('makes the document refuse to open with CORRUPT_ENTRY (not a "torn tail" repair); salvage then drops exactly the suffix', async () => {
    const { dir, file } = await writtenLog(7000);
    const size = (await stat(file)).size;
    const damagedAt = offsetOf(3501);
    // A flipped byte in the payload of entry 3501.
    await flipByte(file, damagedAt + RECORD_OVERHEAD + 20);
    const original = await readFile(file);

    const recoveries: RecoveryReport[] = [];
    const corruptions: CorruptionReport[] = [];
    const log = await store.open({
      dir,
      onRecovery: (report) => recoveries.push(report),
      onCorruption: (report) => corruptions.push(report),
    });
    const error = await log.read('doc').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    expect((error as Error).message).toContain('3500 entries (seq 3501–7000');
    await expect(log.head('doc')).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    await expect(log.append('doc', [input(1)])).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    expect(recoveries).toEqual([]);
    // Reported once, when the document was opened.
    expect(corruptions).toEqual([
      {
        docId: 'doc',
        file,
        damagedAt,
        validEntries: 3500,
        firstLostSeq: 3501,
        lastFoundSeq: 7000,
        lostEntries: 3500,
        wholeEntriesAfter: 3499,
        lostBytes: size - damagedAt,
      },
    ]);
    // Nothing was cut.
    expect((await readFile(file)).equals(original)).toBe(true);

    const dryRun = await log.salvage('doc', { dryRun: true });
    expect(dryRun).toMatchObject({ state: 'damaged', droppedEntries: 3500, applied: false, copies: [] });
    expect((await readFile(file)).equals(original)).toBe(true);

    const report = await log.salvage('doc');
    expect(report).toEqual({
      docId: 'doc',
      file,
      state: 'damaged',
      keptEntries: 3500,
      head: 3500,
      droppedEntries: 3500,
      droppedBytes: size - damagedAt,
      droppedCheckpoints: [],
      copies: [expect.stringMatching(/doc\.log\.damaged-[0-9TZ-]+$/)],
      applied: true,
    });
    expect((await readFile(report.copies[0]!)).equals(original)).toBe(true);
    expect((await stat(file)).size).toBe(damagedAt);
    // The document opens again, with the prefix, and appends continue after it.
    expect(await log.head('doc')).toBe(3500);
    expect((await log.read('doc', { from: 3499 })).map(view)).toEqual([
      view(stored(3499, 3499, PAYLOAD)),
      view(stored(3500, 3500, PAYLOAD)),
    ]);
    expect((await log.append('doc', [input(9)])).map((entry) => entry.seq)).toEqual([3501]);
    // The copy is not taken for a document.
    expect(await log.docIds()).toEqual(['doc']);
    await log.close();
    const reopened = await store.open({ dir, onRecovery: (r) => recoveries.push(r) });
    expect(await reopened.head('doc')).toBe(3501);
    expect(recoveries).toEqual([]);
  });

  it('still counts the entries after the damage when the damaged byte is in a length field', async () => {
    const { dir, file } = await writtenLog(7000);
    const damagedAt = offsetOf(3501);
    // The length now points far away: the records after it are found again by their CRCs.
    await flipByte(file, damagedAt + 1);
    const corruptions: CorruptionReport[] = [];
    const log = await store.open({ dir, onCorruption: (report) => corruptions.push(report) });
    await expect(log.read('doc')).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    expect(corruptions).toMatchObject([
      {
        damagedAt,
        validEntries: 3500,
        firstLostSeq: 3501,
        lastFoundSeq: 7000,
        lostEntries: 3500,
        wholeEntriesAfter: 3499,
      },
    ]);
  });
});

describe('salvage', () => {
  it('reports an intact log and a missing one, changing nothing', async () => {
    const { dir, file } = await writtenLog(10);
    const log = await store.open({ dir });
    expect(await log.salvage('doc')).toEqual({
      docId: 'doc',
      file,
      state: 'intact',
      keptEntries: 10,
      head: 10,
      droppedEntries: 0,
      droppedBytes: 0,
      droppedCheckpoints: [],
      copies: [],
      applied: true,
    });
    expect(await log.salvage('other')).toMatchObject({ state: 'missing', keptEntries: 0, copies: [] });
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'doc.log']);
  });

  it('cuts a torn tail too, keeping a copy', async () => {
    const { dir, file } = await writtenLog(10);
    const handle = await openFile(file, 'a');
    await handle.write(Buffer.from('torn'));
    await handle.close();
    const log = await store.open({ dir });
    const report = await log.salvage('doc');
    expect(report).toMatchObject({ state: 'torn', keptEntries: 10, droppedEntries: 0, droppedBytes: 4 });
    expect(report.copies).toHaveLength(1);
    expect((await stat(file)).size).toBe(offsetOf(11));
  });

  it('drops checkpoints beyond the new head, keeping a copy of their file', async () => {
    const { dir, file } = await writtenLog(20);
    const log = await store.open({ dir });
    for (const seq of [5, 15, 20]) await log.storeCheckpoint('doc', checkpointAt(seq));
    await log.close();
    await flipByte(file, offsetOf(11) + RECORD_OVERHEAD + 5);

    const reopened = await store.open({ dir });
    await expect(reopened.head('doc')).rejects.toMatchObject({ code: ErrorCode.CORRUPT_ENTRY });
    const report = await reopened.salvage('doc');
    expect(report).toMatchObject({ state: 'damaged', keptEntries: 10, head: 10, droppedEntries: 10 });
    expect(report.droppedCheckpoints).toEqual([15, 20]);
    expect(report.copies.map((copy) => copy.replace(/.*\//, '').replace(/damaged-.*/, 'damaged-'))).toEqual([
      'doc.log.damaged-',
      'doc.ckpt.damaged-',
    ]);
    expect(view((await reopened.latestCheckpoint('doc'))!)).toEqual(view(checkpointAt(5)));
    expect(await reopened.head('doc')).toBe(10);
  });

  it('refuses a checkpoint file damaged before its tail with CORRUPT_ENTRY; salvage keeps the checkpoints before the damage', async () => {
    const { dir } = await writtenLog(20);
    const ckpt = join(dir, 'doc.ckpt');
    const log = await store.open({ dir });
    for (const seq of [5, 15, 20]) await log.storeCheckpoint('doc', checkpointAt(seq));
    await log.close();
    // The payload of the second checkpoint.
    const second = HEADER_SIZE + RECORD_OVERHEAD + encodeEntry(checkpointAt(5)).length;
    await flipByte(ckpt, second + RECORD_OVERHEAD + 12);
    const original = await readFile(ckpt);

    const reopened = await store.open({ dir });
    await expect(reopened.latestCheckpoint('doc')).rejects.toMatchObject({
      code: ErrorCode.CORRUPT_ENTRY,
      message: expect.stringContaining('1 checkpoints (seq 20;'),
    });
    expect((await readFile(ckpt)).equals(original)).toBe(true);
    // The log itself is fine.
    expect(await reopened.head('doc')).toBe(20);

    const report = await reopened.salvage('doc');
    expect(report).toMatchObject({
      state: 'intact',
      keptEntries: 20,
      droppedEntries: 0,
      droppedCheckpoints: [20],
    });
    expect(report.copies).toEqual([expect.stringMatching(/doc\.ckpt\.damaged-/)]);
    expect((await readFile(report.copies[0]!)).equals(original)).toBe(true);
    expect(view((await reopened.latestCheckpoint('doc'))!)).toEqual(view(checkpointAt(5)));
  });
});
