/**
 * `npx ystate serve` under a process manager: the manager signals the `npx` process alone. npm
 * forwards the SIGTERM to the `sh -c` it runs the bin under, which dies without passing it on;
 * the server must still shut down gracefully and free its port and its store lock.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileLog } from '@ystate/file';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { assertBuilt, type LogRecord, tempDir, waitFor } from './cli-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

beforeAll(() => assertBuilt());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

it('stops cleanly when only the npx process gets SIGTERM: port and store lock are free within seconds', async () => {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  const data = join(dir.path, 'store');
  // From the repository root, `npx ystate` runs the workspace's linked bin, as in a project that depends on ystate.
  const npx = spawn('npx', ['--no-install', 'ystate', 'serve', '--port', '0', '--data', data], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: LogRecord[] = [];
  let stderr = '';
  npx.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let pending = '';
  npx.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) records.push(JSON.parse(line) as LogRecord);
  });
  const npxExited = new Promise((resolve) => npx.once('exit', resolve));
  cleanups.push(() => npx.kill('SIGKILL'));

  const listening = await waitFor(
    () => records.find((record) => typeof record.url === 'string'),
    `the URL line of npx ystate serve (stderr: ${stderr})`,
    30_000,
  );
  const port = listening.port as number;
  const serverPid = listening.pid as number;
  expect(serverPid).not.toBe(npx.pid);
  cleanups.push(() => {
    if (isRunning(serverPid)) process.kill(serverPid, 'SIGKILL');
  });
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  expect(existsSync(join(data, 'LOCK'))).toBe(true);

  npx.kill('SIGTERM');
  await npxExited;
  await waitFor(() => (isRunning(serverPid) ? undefined : true), 'the server process to exit', 10_000);
  expect(
    records.some((record) => record.msg === 'stopped'),
    'a graceful shutdown',
  ).toBe(true);
  expect(await portIsFree(port)).toBe(true);
  expect(existsSync(join(data, 'LOCK'))).toBe(false);
  // The store opens again: nothing holds its lock.
  const log = await openFileLog({ dir: data });
  await log.close();
}, 60_000);
