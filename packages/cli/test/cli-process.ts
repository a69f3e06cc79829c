/**
 * Runs the built `ystate` binary as a child process, the way users run it: waits for its start-up
 * log line (an event, not a sleep), and stops it with a signal. Every process started here is
 * killed when the test process exits.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The executable npm links as `ystate` (it runs dist/bin.js, which `npm run build` makes). */
export const BIN = fileURLToPath(new URL('../bin/ystate.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Fails with a helpful message when the package has not been built. */
export function assertBuilt(): void {
  if (!existsSync(BUILT))
    throw new Error(`${BUILT} is missing: run \`npx turbo run build --filter=ystate\` first`);
}

/** A pino JSON log record, as `ystate serve` writes them when stdout is not a terminal. */
export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface RunOptions {
  cwd: string;
  /** Added to an environment cleared of every `YSTATE_*` variable of the test process. */
  env?: Record<string, string>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('YSTATE_')) env[key] = value;
  return { ...env, ...extra };
}

function launch(args: readonly string[], options: RunOptions): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Runs `ystate ARGS` to completion. */
export function runCli(
  args: readonly string[],
  options: RunOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = launch(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A `ystate` process left running: its output so far, and how it ended. */
export interface StartedCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `ystate ARGS` without waiting for it (to signal or kill it halfway). */
export function startCli(args: readonly string[], options: RunOptions): StartedCli {
  const child = launch(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** A running `ystate serve`. */
export class ServeProcess {
  readonly records: LogRecord[] = [];
  stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    exited: Promise<number | null>,
  ) {
    this.exited = exited;
  }

  /** Starts `ystate serve ARGS` and resolves once it logs the URL it listens on. */
  static start(args: readonly string[], options: RunOptions): Promise<ServeProcess> {
    const child = launch(['serve', ...args], options);
    const records: LogRecord[] = [];
    let stderr = '';
    let pending = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      let started: ServeProcess | undefined;
      child.stdout?.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          const record = JSON.parse(line) as LogRecord;
          (started?.records ?? records).push(record);
          if (started === undefined && typeof record.url === 'string') {
            started = new ServeProcess(child, record.url, exited);
            started.records.push(...records);
            started.stderr = stderr;
            resolve(started);
          }
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        if (started) started.stderr += chunk.toString();
        else stderr += chunk.toString();
      });
      child.once('error', reject);
      exited
        .then((code) => {
          if (started === undefined)
            reject(new Error(`ystate serve exited with ${code} before listening:\n${stderr}`));
        })
        .catch(reject);
    });
  }

  /** The WebSocket base URL (`ws://host:port`). */
  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** The exit code, once the process has exited by itself. */
  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** Log records whose message contains `text`. */
  logged(text: string): LogRecord[] {
    return this.records.filter((record) => record.msg.includes(text));
  }
}

/** A fresh temp directory, removed by the returned function. */
export async function tempDir(
  prefix = 'ystate-cli-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A TCP port that was free a moment ago (for tests that must name a port themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined (a condition on real state). */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
