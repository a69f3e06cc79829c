import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the example as its README says (with its work directory given, so the test can look at
// what is left): `ystate serve` SIGKILLed mid-write, `ystate backup`, a mistake, time travel,
// the data directory deleted, `ystate restore`.
const script = fileURLToPath(new URL('../index.mjs', import.meta.url));
const WIDTH = 38;
let work = '';
let stdout = '';

/** The text printed after `label` on its one line. */
function printed(label: string): string {
  const lines = stdout.split('\n').filter((line) => line.startsWith(label.padEnd(WIDTH)));
  if (lines.length !== 1) throw new Error(`expected one line "${label}", got ${lines.length} in:\n${stdout}`);
  return lines[0]!.slice(WIDTH);
}

const tasks = [{ title: 'write the release notes' }, { title: 'tag v1.0' }];

describe('examples/persistence-recovery', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ystate-example-persistence-'));
    ({ stdout } = await promisify(execFile)(process.execPath, [script, work], { timeout: 60_000 }));
  }, 90_000);
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('loses no acknowledged write when the server is SIGKILLed mid-write', () => {
    expect(printed('acknowledged, then SIGKILL')).toMatch(/^120 writes acknowledged, [1-8] in flight$/);
    expect(printed('acknowledged writes after restart')).toBe('120/120 present');
  });

  it('shows the state before a mistaken deletion by seq, by time and with ystate replay', () => {
    expect(printed('tasks now')).toBe('gone');
    const seqLine = stdout.split('\n').find((line) => line.startsWith('GET /state?path=/tasks&at='))!;
    expect(seqLine).toMatch(/^GET \/state\?path=\/tasks&at=\d+ /);
    expect(JSON.parse(seqLine.slice(WIDTH))).toEqual(tasks);
    expect(JSON.parse(printed('GET /state?path=/tasks&at=TIME'))).toEqual(tasks);
    const replayLine = stdout.split('\n').find((line) => line.startsWith('ystate replay --to '))!;
    expect(JSON.parse(replayLine.slice(WIDTH))).toEqual(tasks);
    expect(JSON.parse(printed('after the undo'))).toEqual({
      tasks,
      notes: 'kept: written after the mistake',
    });
  });

  it('restores the backup, with its history, into a deleted data directory', async () => {
    expect(printed('ystate backup')).toMatch(/^wrote …\/board\.ystate-backup: 1 documents, \d+ entries/);
    expect(printed('ystate restore')).toMatch(/^restored 1 documents, \d+ entries/);
    const restored = JSON.parse(printed('restored state'));
    expect(restored.tasks).toEqual(tasks);
    expect(restored.events).toBeGreaterThanOrEqual(120);
    expect(printed('same state and history as backed up')).toBe('true');
    expect((await readdir(work)).sort()).toEqual(['board.ystate-backup', 'data']);
  });
});
