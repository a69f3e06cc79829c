/**
 * The servers the WebSocket scenarios measure, each started as its own process so that its CPU and
 * memory can be read apart from the load generator's:
 * - `ystate`: the real `ystate serve` (packages/cli/bin/ystate.js) with the embedded file store
 *   (its default: fsync on every append), `--redis URL` or `--redis-cluster URLS`;
 * - `y-websocket-server`: the y-websocket reference server, `@y/websocket-server` (`src/server.js`,
 *   documents in memory); `y-websocket-2`: the same server as `y-websocket@2.1.0` shipped it
 *   (`bin/server.cjs`), kept as an older row;
 * - `hocuspocus-4`: `@hocuspocus/server` 4 on Node 22 (node-22.mjs), with
 *   `@hocuspocus/extension-redis` 4 when given a Redis (hocuspocus-server.mjs);
 * - `hocuspocus-3`: the same with Hocuspocus 3 on the machine's Node, kept as an older row.
 * Readiness is the line each prints once listening, never a sleep. Every process started here is
 * killed when the bench process exits.
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchDir, repoRoot } from './harness.mjs';
import { node22 } from './node-22.mjs';

const HOST = '127.0.0.1';
const require = createRequire(join(benchDir, 'package.json'));

/**
 * The labels and protocol dialect of each kind of server; a Hocuspocus kind also names its major
 * version (hocuspocus-server.mjs and providers.mjs pick the packages by it).
 */
export const serverKinds = {
  ystate: { label: 'ystate', dialect: 'y-websocket', role: 'ours' },
  'y-websocket-server': { label: '@y/websocket-server 0.1.1', dialect: 'y-websocket', role: 'peer' },
  'y-websocket-2': { label: 'y-websocket 2.1.0 server (older)', dialect: 'y-websocket', role: 'peer' },
  'hocuspocus-4': { label: 'Hocuspocus 4 (Node 22)', dialect: 'hocuspocus', role: 'peer', hocuspocus: 4 },
  'hocuspocus-3': { label: 'Hocuspocus 3 (older)', dialect: 'hocuspocus', role: 'peer', hocuspocus: 3 },
};

const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (it can be taken before it is bound: callers bind it at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The y-websocket reference servers: the package and the script of each (documents in memory). */
const referenceServers = {
  'y-websocket-server': ['@y/websocket-server', 'src/server.js'],
  'y-websocket-2': ['y-websocket', 'bin/server.cjs'],
};

/** How each kind is started, and the line that says it is listening. */
async function commandOf(kind, { port, redis, redisCluster, dataDir, args = [] }) {
  if (kind === 'ystate') {
    const store = redisCluster
      ? ['--redis-cluster', redisCluster]
      : redis
        ? ['--redis', redis]
        : ['--data', dataDir];
    return {
      args: [
        join(repoRoot, 'packages/cli/bin/ystate.js'),
        'serve',
        '--port',
        String(port),
        '--host',
        HOST,
        '--log-level',
        'info',
        '--log-format',
        'json',
        ...store,
        ...args,
      ],
      env: {},
      ready: (line) => line.includes('ystate listening'),
    };
  }
  if (kind in referenceServers) {
    const [packageName, file] = referenceServers[kind];
    return {
      args: [join(dirname(require.resolve(`${packageName}/package.json`)), file)],
      env: { HOST, PORT: String(port) },
      ready: (line) => line.startsWith('running at'),
    };
  }
  const { hocuspocus } = serverKinds[kind] ?? {};
  if (hocuspocus) {
    return {
      args: [join(benchDir, 'hocuspocus-server.mjs'), JSON.stringify({ port, redis, version: hocuspocus })],
      env: {},
      ready: (line) => line.startsWith('hocuspocus listening'),
      node: hocuspocus === 4 ? await node22() : process.execPath,
    };
  }
  throw new Error(`unknown server kind ${kind}`);
}

/**
 * A server process of `kind` on a free port. Options: `redis` (URL: ystate's store and bus,
 * Hocuspocus's Redis extension), `redisCluster` (seed URLs, comma-separated: ystate's
 * `--redis-cluster`), `nodeArgs` (e.g. `['--max-old-space-size=4096']`), `args` (more
 * `ystate serve` flags, e.g. `['--fsync', 'interval']`).
 */
export async function startServer(kind, options = {}) {
  const server = new ServerProcess(kind, options);
  await server.start();
  return server;
}

/** One server process: start, stop, kill, restart on the same port and data, and its CPU and memory. */
export class ServerProcess {
  child = undefined;
  exited = Promise.resolve();

  constructor(kind, options) {
    this.kind = kind;
    this.options = options;
    this.dialect = serverKinds[kind].dialect;
    this.label = serverKinds[kind].label;
  }

  /** `ws://127.0.0.1:PORT` (y-websocket clients add `/<docId>`). */
  get url() {
    return `ws://${HOST}:${this.port}`;
  }

  /** The process id of the running server. */
  get pid() {
    return this.child?.pid;
  }

  /** Starts the process (on the same port and data directory after a stop); resolves once it listens. */
  async start() {
    this.port ??= await freePort();
    if (this.kind === 'ystate' && !this.options.redis && !this.options.redisCluster) {
      this.dataDir ??= await mkdtemp(join(tmpdir(), 'ystate-bench-server-'));
    }
    const {
      args,
      env,
      ready,
      node = process.execPath,
    } = await commandOf(this.kind, {
      port: this.port,
      redis: this.options.redis,
      redisCluster: this.options.redisCluster,
      dataDir: this.dataDir,
      args: this.options.args,
    });
    const child = spawn(node, [...(this.options.nodeArgs ?? []), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve)).then(() => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout });
    await new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        if (ready(line)) resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`${this.label} exited with ${signal ?? code} before listening:\n${stderr}`)),
      );
    });
    // Keep draining its output so that a chatty server never blocks on a full pipe.
    child.stderr.resume();
  }

  /** Stops the process (SIGTERM: a graceful shutdown) and waits for it to exit. */
  async stop() {
    this.child?.kill('SIGTERM');
    await this.exited;
  }

  /** Kills the process (SIGKILL) and waits for it to exit. */
  async kill() {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Stops the process and removes the data directory it was given. */
  async close() {
    await this.kill();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** The server process's resident memory now and at its peak, and the CPU it has used. */
  usage() {
    return processUsage(this.pid);
  }
}

/** Ticks of `utime`/`stime` per second in /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

/**
 * A process's memory and CPU from /proc (Linux): `rssMB` (VmRSS), `peakRssMB` (VmHWM, the highest
 * RSS since it started) and `cpuSeconds` (user + system).
 */
export function processUsage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN);
  // The command name in parentheses may hold spaces: the fields start after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  return { rssMB: kB('VmRSS') / 1024, peakRssMB: kB('VmHWM') / 1024, cpuSeconds };
}

/** The version a `redis-server` reports (`INFO server`), for the results' description of the setup. */
export async function redisVersion(redis) {
  return (await redis.cli('info', 'server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
}
