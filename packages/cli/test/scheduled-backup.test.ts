/**
 * Scheduled backups of `ystate serve` (`--backup-every`, `--backup-dir`, `--backup-keep`): the
 * built binary serving real HTTP writes, its archives restored with the binary.
 */

import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, ServeProcess, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scratch(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

async function serve(args: readonly string[], cwd: string): Promise<ServeProcess> {
  const server = await ServeProcess.start(['--port', '0', ...args], { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

const ARCHIVE = /^ystate-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.ystate-backup$/;

describe('ystate serve --backup-every', () => {
  it('writes timestamped archives on schedule, keeps the newest N, and each one restores', async () => {
    const cwd = await scratch();
    const server = await serve(
      ['--data', 'data', '--backup-every', '1s', '--backup-dir', 'backups', '--backup-keep', '2'],
      cwd,
    );
    expect(server.logged('scheduled backups every 1s into')[0]?.msg).toMatch(
      /backups \(keeping the newest 2\)$/,
    );
    for (const [docId, value] of [
      ['projects/1', 'one'],
      ['projects/2', 'two'],
    ]) {
      const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(docId as string)}/state`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json-patch+json' },
        body: JSON.stringify([{ op: 'add', path: '/title', value }]),
      });
      expect(response.status).toBe(200);
    }
    const afterWrites = server.records.length;
    // Three backups taken after the writes: the oldest of them is removed again.
    await waitFor(
      () =>
        server.records.slice(afterWrites).filter((r) => r.msg === 'backup written').length >= 3 &&
        server.logged('removed old backups').length > 0
          ? true
          : undefined,
      'three scheduled backups',
    );
    expect(await server.stop()).toBe(0);

    const written = server.logged('backup written').map((record) => String(record.file));
    expect(written.every((file) => ARCHIVE.test(file.split('/').pop() ?? ''))).toBe(true);
    const kept = (await readdir(join(cwd, 'backups'))).sort();
    expect(kept.map((name) => join(cwd, 'backups', name))).toEqual(written.slice(-2));
    for (const [i, name] of kept.entries()) {
      const restore = await runCli(['restore', join('backups', name), '--data', `restored-${i}`], { cwd });
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stdout).toMatch(/restored 2 documents/);
      const replay = await runCli(['replay', 'projects/2', '--data', `restored-${i}`], { cwd });
      expect(JSON.parse(replay.stdout)).toEqual({ title: 'two' });
    }
  });

  it('logs a failed backup and keeps serving (and trying)', async () => {
    const cwd = await scratch();
    await writeFile(join(cwd, 'not-a-dir'), 'a file where the backup directory should be');
    const server = await serve(
      ['--data', 'data', '--backup-every', '1s', '--backup-dir', 'not-a-dir/backups'],
      cwd,
    );
    await waitFor(
      () => (server.logged('scheduled backup failed').length >= 2 ? true : undefined),
      'two failed backups',
    );
    expect(server.logged('scheduled backup failed')[0]).toMatchObject({ level: 50 });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it.each([
    [['--backup-every', '1h'], /--backup-every needs --backup-dir/],
    [
      ['--backup-every', '500ms', '--backup-dir', 'b'],
      /invalid --backup-every: "500ms" \(expected at least 1s\)/,
    ],
    [['--backup-every', 'hourly', '--backup-dir', 'b'], /expected a duration such as 30s, 15m, 1h or 1d/],
    [['--backup-every', '1h', '--backup-dir', 'b', '--backup-keep', '0'], /invalid --backup-keep: "0"/],
    [['--backup-keep', '3'], /--backup-keep does nothing without --backup-every/],
  ])('exits 2 for %j', async (args, message) => {
    const result = await runCli(['serve', ...args], { cwd: await scratch() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
