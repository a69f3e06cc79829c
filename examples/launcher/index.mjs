/**
 * What the runnable examples share: the `ystate` command line and `redis-server` run as child
 * processes, the way a person runs them in a terminal. `ystate serve` is started with JSON logs
 * (`--log-format json`) and is ready when it logs the URL it listens on; its log records are kept
 * so an example can show or check them. Every process started here is killed when the example
 * exits, however it exits.
 */

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** The `ystate` executable npm links (packages/cli/bin/ystate.js; it runs the built dist/bin.js). */
export const YSTATE_BIN = join(
  dirname(createRequire(import.meta.url).resolve('ystate')),
  '..',
  'bin',
  'ystate.js',
);

const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Ctrl-C, or a test's timeout: exit through the hook above instead of leaving the children behind.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

function launch(command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

/** Runs `ystate ARGS` to completion: `{ code, stdout, stderr }`; rejects on a non-zero exit unless `allowFailure`. */
export async function ystate(args, options = {}) {
  const { child, exited } = launch(process.execPath, [YSTATE_BIN, ...args], options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const { code } = await exited;
  if (code !== 0 && !options.allowFailure)
    throw new Error(`ystate ${args.join(' ')} exited with ${code}:\n${stderr}`);
  return { code, stdout, stderr };
}

/**
 * Starts `ystate serve ARGS --log-format json` and resolves once it logs the URL it listens on (an
 * `info` record: a `--log-level` above info would hide it):
 * `{ url, wsUrl, port, pid, records, logged(text), stop(signal = 'SIGTERM'), exited }`.
 */
export function serve(args, options = {}) {
  const { child, exited } = launch(
    process.execPath,
    [YSTATE_BIN, 'serve', ...args, '--log-format', 'json'],
    options,
  );
  const records = [];
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let started = false;
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const record = JSON.parse(line);
        records.push(record);
        options.onLog?.(record);
        if (!started && typeof record.url === 'string') {
          started = true;
          resolve({
            url: record.url,
            wsUrl: record.url.replace(/^http/, 'ws'),
            port: record.port,
            pid: child.pid,
            records,
            logged: (text) => records.filter((r) => String(r.msg).includes(text)),
            stop: (signal = 'SIGTERM') => {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
            exited,
          });
        }
      }
    });
    child.once('error', reject);
    exited.then(({ code, signal }) => {
      if (!started) reject(new Error(`ystate serve exited (${code ?? signal}) before listening:\n${stderr}`));
    }, reject);
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The Redis to use: `REDIS_URL` when set, else a `redis-server` started here on a free port
 * (nothing saved to disk) and stopped by `stop()`. `{ url, started, stop }`.
 */
export async function redis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, started: false, stop: async () => {} };
  const port = await freePort();
  const { child, exited } = launch('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
  ]);
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-server (install it, or set REDIS_URL): ${error.message}`)),
    );
    exited.then(({ code }) => reject(new Error(`redis-server exited with ${code}:\n${output}`)), reject);
  });
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    started: true,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts `node SCRIPT ARGS` and resolves with its first stdout line parsed as JSON (its address). */
export function startNode(script, args = [], options = {}) {
  const { child, exited } = launch(process.execPath, [script, ...args], options);
  return new Promise((resolve, reject) => {
    let pending = '';
    let first = true;
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (first) {
          first = false;
          resolve({ child, exited, ready: JSON.parse(line) });
        } else options.onLine?.(line);
      }
    });
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    child.once('error', reject);
    exited.then(({ code, signal }) => {
      if (first) reject(new Error(`${script} exited (${code ?? signal}) before it was ready`));
    }, reject);
  });
}
