/**
 * `ystate salvage` through the built binary, on a file store with a log damaged before its tail,
 * one with a torn tail and an intact one.
 */

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryInput } from '@ystate/core';
import { openFileLog, type SalvageReport } from '@ystate/file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, tempDir } from './cli-process.js';

let cwd: string;
let data: string;
let removeDir: () => Promise<void>;

function entry(n: number): EntryInput {
  return {
    kind: 'update',
    time: 1_700_000_000_000 + n,
    origin: 'test',
    flags: 0,
    payload: new Uint8Array(30).fill(n & 0xff),
  };
}

/** Where each record of a log file starts (after the 20-byte header, each record is length, CRC, frame). */
async function recordOffsets(file: string): Promise<number[]> {
  const bytes = await readFile(file);
  const offsets: number[] = [];
  for (let at = 20; at < bytes.length; at += 8 + bytes.readUInt32BE(at)) offsets.push(at);
  return offsets;
}

beforeAll(async () => {
  assertBuilt();
  const dir = await tempDir();
  cwd = dir.path;
  removeDir = dir.remove;
  data = join(cwd, 'data');
  const log = await openFileLog({ dir: data });
  await log.append(
    'docs/good',
    Array.from({ length: 10 }, (_, i) => entry(i + 1)),
  );
  await log.append(
    'docs/bad',
    Array.from({ length: 200 }, (_, i) => entry(i + 1)),
  );
  await log.append(
    'docs/torn',
    Array.from({ length: 5 }, (_, i) => entry(i + 1)),
  );
  await log.close();
  const bad = join(data, 'docs%2Fbad.log');
  const offsets = await recordOffsets(bad);
  const handle = await open(bad, 'r+');
  await handle.write(Uint8Array.of(0xff), 0, 1, offsets[100]! + 20);
  await handle.close();
  const torn = await open(join(data, 'docs%2Ftorn.log'), 'a');
  await torn.write(Buffer.from([0, 0, 0, 40, 1, 2]));
  await torn.close();
});

afterAll(async () => {
  await removeDir?.();
});

function ystate(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli([...args, '--data', 'data'], { cwd });
}

describe('ystate salvage', () => {
  it('prints its usage with --help and refuses to run without documents or --all', async () => {
    const help = await ystate('salvage', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ystate salvage <docId>... | --all');
    expect(help.stdout).toContain('--dry-run');
    const bare = await ystate('salvage');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('name documents, or pass --all');
    expect((await ystate('salvage', 'docs/bad', '--all')).code).toBe(2);
  });

  it('leaves a damaged document refusing to open, logged at error level with what is affected', async () => {
    const inspect = await ystate('inspect', 'docs/bad');
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toContain('is damaged before its tail: 100 entries');
    expect(inspect.stderr).toMatch(/ERROR/);
  });

  it('reports with --dry-run what it would drop, changing nothing', async () => {
    const before = await readFile(join(data, 'docs%2Fbad.log'));
    const result = await ystate('salvage', 'docs/bad', '--dry-run', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as SalvageReport;
    expect(report).toMatchObject({
      docId: 'docs/bad',
      state: 'damaged',
      keptEntries: 100,
      droppedEntries: 100,
      applied: false,
    });
    expect((await readFile(join(data, 'docs%2Fbad.log'))).equals(before)).toBe(true);
  });

  it('salvages every document with --all: keeps the valid prefixes, reports the drops, keeps copies', async () => {
    const badSize = (await stat(join(data, 'docs%2Fbad.log'))).size;
    const result = await ystate('salvage', '--all');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^docs\/bad: damaged before its tail: dropped 100 entries after the damage \(seq 101–200\), [\d,]+ bytes .*; kept 100 entries \(head 100\); copies: .*docs%2Fbad\.log\.damaged-/,
    );
    expect(lines[1]).toBe('docs/good: intact, 10 entries (head 10)');
    expect(lines[2]).toMatch(/^docs\/torn: torn tail: dropped 6 bytes .*; kept 5 entries \(head 5\)/);
    expect(result.stderr).toContain('salvaged 3 documents');
    expect(result.stderr).toContain('1 damaged, 1 torn, 1 intact; dropped 100 entries');

    const copies = (await readdir(data)).filter((name) => name.includes('.damaged-'));
    expect(copies).toHaveLength(2);
    expect((await stat(join(data, copies.find((name) => name.startsWith('docs%2Fbad'))!))).size).toBe(
      badSize,
    );
    const log = await openFileLog({ dir: data });
    try {
      expect(await log.head('docs/bad')).toBe(100);
      expect(await log.head('docs/good')).toBe(10);
      expect(await log.head('docs/torn')).toBe(5);
      expect(await log.docIds()).toEqual(['docs/bad', 'docs/good', 'docs/torn']);
    } finally {
      await log.close();
    }
  });

  it('exits 1 for a document without a log', async () => {
    const result = await ystate('salvage', 'docs/none');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('docs/none: no log file');
  });
});
