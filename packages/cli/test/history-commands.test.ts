/**
 * `ystate replay`, `ystate inspect` and `ystate compact` through the built binary, on a file store
 * whose history is scripted entry by entry (known times, origins, kinds and payloads).
 */

import { join } from 'node:path';
import { EntryFlags, type EntryInput } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../src/commands/inspect.js';
import { assertBuilt, runCli, tempDir } from './cli-process.js';
import { scriptedEntries } from './history-fixtures.js';

const T0 = Date.parse('2025-01-31T12:00:00.000Z');
let cwd: string;
let removeDir: () => Promise<void>;
let runEntries: EntryInput[];

beforeAll(async () => {
  assertBuilt();
  const dir = await tempDir();
  cwd = dir.path;
  removeDir = dir.remove;
  runEntries = scriptedEntries([
    { time: T0, origin: 'alice', change: (state) => state.set('title', 'draft') },
    { time: T0 + 1000, origin: 'bob', change: (state) => state.set('count', 1) },
    { time: T0 + 2000, origin: 'agent-7', event: { type: 'event', name: 'tool-output', data: { ok: true } } },
    { time: T0 + 3000, origin: 'alice', change: (state) => state.set('title', 'final') },
    { time: T0 + 4000, origin: 'bob', change: (state) => state.set('count', 2) },
  ]);
  const log = await openFileLog({ dir: join(cwd, 'data') });
  await log.append('runs/1', runEntries);
  await log.append('runs/2', scriptedEntries([{ time: T0, origin: 'carol', change: (s) => s.set('x', 1) }]));
  // Stored encrypted by a program that had the key; the CLI has none.
  await log.append('vault', [
    {
      kind: 'update',
      time: T0,
      origin: 'dave',
      flags: EntryFlags.encrypted,
      keyId: 'k1',
      payload: new Uint8Array(40),
    },
  ]);
  await log.close();
});
afterAll(async () => {
  await removeDir?.();
});

async function ystate(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli([...args, '--data', 'data'], { cwd });
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await ystate(...args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('ystate replay', () => {
  it('prints the state at the head, at a seq, and at a time', async () => {
    expect(await json('replay', 'runs/1')).toEqual({ title: 'final', count: 2 });
    expect(await json('replay', 'runs/1', '--to', '2')).toEqual({ title: 'draft', count: 1 });
    // The last entry written at or before 12:00:03.5 is seq 4.
    expect(await json('replay', 'runs/1', '--to', '2025-01-31T12:00:03.500Z')).toEqual({
      title: 'final',
      count: 1,
    });
  });

  it('steps through history as JSON lines: seq, time, origin, kind, patch, lifecycle event', async () => {
    const all = await ystate('replay', 'runs/1', '--step');
    expect(all.code).toBe(0);
    const steps = lines(all.stdout);
    expect(steps.map((step) => [step.seq, step.time, step.origin, step.kind])).toEqual([
      [1, T0, 'alice', 'update'],
      [2, T0 + 1000, 'bob', 'update'],
      [3, T0 + 2000, 'agent-7', 'lifecycle'],
      [4, T0 + 3000, 'alice', 'update'],
      [5, T0 + 4000, 'bob', 'update'],
    ]);
    expect(steps[0]?.patch).toEqual([{ op: 'add', path: '/title', value: 'draft' }]);
    expect(steps[2]?.event).toMatchObject({ type: 'event', name: 'tool-output', data: { ok: true }, seq: 3 });
    expect(steps[3]?.patch).toEqual([{ op: 'replace', path: '/title', value: 'final' }]);

    const window = await ystate('replay', 'runs/1', '--step', '--from', '2', '--to', '2025-01-31T12:00:03Z');
    expect(lines(window.stdout).map((step) => step.seq)).toEqual([2, 3, 4]);
  });

  it('fails clearly: unknown documents and encrypted entries exit 1, bad flags exit 2', async () => {
    const unknown = await ystate('replay', 'runs/404');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/"runs\/404" has no history in file log in /);
    const beyond = await ystate('replay', 'runs/1', '--to', '9');
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/seq 9 is beyond the head of "runs\/1" \(5\)/);
    const encrypted = await ystate('replay', 'vault');
    expect(encrypted.code).toBe(1);
    expect(encrypted.stderr).toMatch(/encrypted with key 'k1'/);
    for (const args of [['runs/1', '--from', '2'], ['runs/1', '--to', 'yesterday'], []]) {
      const usage = await ystate('replay', ...args);
      expect(usage.code, args.join(' ')).toBe(2);
      expect(usage.stderr).toMatch(/ystate replay --help/);
    }
  });
});

describe('ystate inspect', () => {
  it('reports seqs, kinds, sizes, checkpoints and last writers, as JSON and as a table', async () => {
    const report = await json<InspectReport>('inspect', 'runs/1', '--json');
    const bytes = (kind: string) =>
      runEntries.filter((e) => e.kind === kind).reduce((sum, e) => sum + e.payload.length, 0);
    expect(report).toMatchObject({
      docId: 'runs/1',
      head: 5,
      firstRetained: 1,
      retained: 5,
      pruned: 0,
      kinds: {
        update: { entries: 4, payloadBytes: bytes('update') },
        lifecycle: { entries: 1, payloadBytes: bytes('lifecycle') },
      },
      payloadBytes: bytes('update') + bytes('lifecycle'),
      averagePayloadBytes: Math.round((bytes('update') + bytes('lifecycle')) / 5),
      firstTime: '2025-01-31T12:00:00.000Z',
      lastTime: '2025-01-31T12:00:04.000Z',
      checkpoints: [],
      writers: [
        { origin: 'bob', entries: 2, lastSeq: 5, lastTime: '2025-01-31T12:00:04.000Z' },
        { origin: 'alice', entries: 2, lastSeq: 4, lastTime: '2025-01-31T12:00:03.000Z' },
        { origin: 'agent-7', entries: 1, lastSeq: 3, lastTime: '2025-01-31T12:00:02.000Z' },
      ],
    });
    const table = await ystate('inspect', 'vault');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/seqs\s+1 … 1 \(head 1; 1 retained, none pruned\)/);
    expect(table.stdout).toMatch(/payloads: 1 encrypted \(keys k1\)/);
    expect(table.stdout).toMatch(
      /last writers:\n\s+origin\s+entries\s+last seq\s+last write\n\s+dave\s+1\s+1\s+2025-01-31T12:00:00.000Z/,
    );
  });
});

describe('ystate compact', () => {
  it('checkpoints at the head, then prunes to --retain N with replay intact over what is left', async () => {
    expect((await ystate('compact', 'runs/1')).stdout).toBe('runs/1: checkpoint at 5, 5 retained\n');
    expect((await json<InspectReport>('inspect', 'runs/1', '--json')).checkpoints.map((c) => c.seq)).toEqual([
      5,
    ]);

    const pruned = await ystate('compact', 'runs/1', '--retain', '2');
    expect(pruned.stdout).toBe('runs/1: checkpoint at 3, pruned 3 entries, 2 retained\n');
    const report = await json<InspectReport>('inspect', 'runs/1', '--json');
    expect([report.firstRetained, report.head, report.retained]).toEqual([4, 5, 2]);
    expect(report.checkpoints.map((c) => [c.seq, c.origin])).toEqual([
      [3, 'ystate-compact'],
      [5, 'ystate-compact'],
    ]);
    // Every retained seq (and the one before, from its checkpoint) replays as before.
    expect(await json('replay', 'runs/1', '--to', '3')).toEqual({ title: 'draft', count: 1 });
    expect(await json('replay', 'runs/1', '--to', '4')).toEqual({ title: 'final', count: 1 });
    expect(lines((await ystate('replay', 'runs/1', '--step')).stdout).map((s) => s.patch)).toEqual([
      [{ op: 'replace', path: '/title', value: 'final' }],
      [{ op: 'replace', path: '/count', value: 2 }],
    ]);
    const gone = await ystate('replay', 'runs/1', '--step', '--from', '2');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/seq 2 of "runs\/1" was pruned: its retained history starts at seq 4/);
  });

  it('--all checkpoints every document it can read; it needs a document or --all, not both', async () => {
    const all = await runCli(['compact', '--all', '--data', 'data', '--docs-typo'], { cwd });
    expect(all.code).toBe(2);
    // The encrypted document cannot be read without its key: it fails, the others are compacted.
    const result = await ystate('compact', '--all');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'runs/1: checkpoint at the head (5) already there, 2 retained\nruns/2: checkpoint at 1, 1 retained\n',
    );
    expect(result.stderr).toMatch(/vault: .*encrypted with key 'k1'/);
    expect(result.stderr).toMatch(/compacted 2 documents .*; 1 failed/);
    expect((await ystate('compact')).code).toBe(2);
    expect((await ystate('compact', 'runs/2', '--all')).code).toBe(2);
  });
});
