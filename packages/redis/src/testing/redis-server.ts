/**
 * Real `redis-server` processes for tests: one server on a free loopback port (optionally with
 * `appendonly yes, appendfsync always` in a temp dir), killable with SIGKILL and restartable on the
 * same port and dir; and a local Redis Cluster of N masters (each with R replicas, for failover
 * tests) made with `redis-cli --cluster create`.
 * Readiness is waited for as an event (the server's "Ready to accept connections" line, then a
 * PING), never by sleeping. Every process started here is killed when the test process exits.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { createTestCertificates, type TlsFiles } from './tls.js';

/** How `RedisServer.start` configures the redis-server it spawns. */
export interface RedisServerOptions {
  /** Keep an append-only file fsynced on every write (`appendonly yes`, `appendfsync always`). */
  appendOnly?: boolean;
  /** Start as a cluster node (`cluster-enabled yes`); `startCluster` joins such nodes. */
  clusterEnabled?: boolean;
  /**
   * Require this password (`requirepass`, and `masterauth` for replicas); `cli` and the harness's
   * own `redis-cli` and PING authenticate with it.
   */
  password?: string;
  /**
   * Speak TLS only (`--port 0 --tls-port`, and the cluster bus and replication over TLS too):
   * `true` makes a CA and a certificate in the server's dir, or give the files. Its `url` is then
   * `rediss://`, and clients must trust `tls.caFile`.
   */
  tls?: boolean | TlsFiles;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '64mb']`. */
  args?: readonly string[];
  /** The `redis-server` binary (default: `$REDIS_SERVER_BIN` or `redis-server` on the PATH). */
  binary?: string;
  /** How long to wait for readiness (default 20 s). */
  startTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A `redis-server` process on 127.0.0.1 with its own temp dir. */
export class RedisServer {
  readonly host = HOST;
  /** The TLS files, when it speaks TLS. */
  tls: TlsFiles | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts a server on a free port (for cluster nodes, one whose bus port, +10000, is free too). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'ystate-redis-'));
    let lastError: unknown;
    // A free port can be taken between choosing it and binding it: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort(options.clusterEnabled === true);
      const server = new RedisServer(port, dir, options);
      try {
        await server.launch();
        return server;
      } catch (error) {
        lastError = error;
        await server.kill();
      }
    }
    await rm(dir, { recursive: true, force: true });
    throw lastError;
  }

  /**
   * `redis://127.0.0.1:PORT`, with `:PASSWORD@` when it requires one, and `rediss://` when it
   * speaks TLS.
   */
  get url(): string {
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `${this.tls ? 'rediss' : 'redis'}://${auth}${HOST}:${this.port}`;
  }

  /** The process id while it runs (to read its CPU from /proc, say). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the process runs. */
  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** Kills the process (SIGKILL by default: no chance to flush anything) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill(signal);
    await this.exited;
  }

  /** Starts the process again on the same port and dir (it reloads its append-only file). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Kills the process and removes its dir. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Sends one command with `redis-cli` and returns its output (for test setup and fault injection). */
  cli(...args: string[]): Promise<string> {
    return redisCli(['-h', HOST, '-p', String(this.port), ...args], this.clientAuth());
  }

  /** How the harness's own clients authenticate and trust this server. */
  private clientAuth(): ClientAuth {
    return { password: this.options.password, caFile: this.tls?.caFile };
  }

  private async launch(): Promise<void> {
    if (this.options.tls === true) this.tls ??= await createTestCertificates(this.dir);
    else if (this.options.tls) this.tls = this.options.tls;
    const args = [
      '--port',
      this.tls ? '0' : String(this.port),
      '--bind',
      HOST,
      '--dir',
      this.dir,
      '--save',
      '',
      '--logfile',
      '',
      '--daemonize',
      'no',
      '--appendonly',
      this.options.appendOnly ? 'yes' : 'no',
    ];
    if (this.options.appendOnly) args.push('--appendfsync', 'always');
    if (this.options.password !== undefined)
      args.push('--requirepass', this.options.password, '--masterauth', this.options.password);
    if (this.tls) {
      args.push('--tls-port', String(this.port), '--tls-auth-clients', 'no');
      args.push('--tls-cert-file', this.tls.certFile, '--tls-key-file', this.tls.keyFile);
      args.push('--tls-ca-cert-file', this.tls.caFile, '--tls-replication', 'yes');
      if (this.options.clusterEnabled) args.push('--tls-cluster', 'yes');
    }
    if (this.options.clusterEnabled) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, 'nodes.conf'));
      args.push('--cluster-node-timeout', '2000');
    }
    args.push(...(this.options.args ?? []));
    const binary = this.options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    installExitHook();
    running.add(child);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    await waitForReady(child, this.options.startTimeoutMs ?? 20_000);
    await ping(this.port, this.clientAuth());
  }
}

/** What `startCluster` is asked for besides the servers' own options. */
export interface RedisClusterOptions extends Omit<RedisServerOptions, 'clusterEnabled'> {
  /** Replicas per master (default 0); with one or more, `failover` promotes a master's replica. */
  replicas?: number;
}

/** A local Redis Cluster of masters (and their replicas) on free ports. */
export interface RedisClusterHandle {
  /** Every node, masters and replicas, in the order they were started. */
  readonly nodes: readonly RedisServer[];
  /** The `{ host, port }` of every node, for ioredis `new Cluster(startupNodes)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** The nodes that are masters now (a failover changes them). */
  masters(): Promise<RedisServer[]>;
  /**
   * A manual failover of `master` (`CLUSTER FAILOVER` on its replica: the replica catches up with
   * every write the master acknowledged, then takes over its slots). Resolves with the new master
   * once every node sees it as such and the cluster is ok again; rejects after `timeoutMs`.
   */
  failover(master: RedisServer, timeoutMs?: number): Promise<RedisServer>;
  /** Kills every node and removes their dirs. */
  stop(): Promise<void>;
}

/**
 * Starts `masters × (1 + replicas)` cluster-enabled servers, joins them with `redis-cli --cluster
 * create --cluster-replicas R --cluster-yes`, and waits until every node reports `cluster_state:ok`
 * and every replica's link to its master is up.
 */
export async function startCluster(
  masters = 3,
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const { replicas = 0, ...serverOptions } = options;
  const nodes: RedisServer[] = [];
  // One CA for the whole cluster: the nodes verify each other on the cluster bus.
  const tlsDir = options.tls === true ? await mkdtemp(join(tmpdir(), 'ystate-redis-tls-')) : undefined;
  if (tlsDir !== undefined) serverOptions.tls = await createTestCertificates(tlsDir);
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    if (tlsDir !== undefined) await rm(tlsDir, { recursive: true, force: true });
  };
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  try {
    for (let i = 0; i < masters * (1 + replicas); i++)
      nodes.push(await RedisServer.start({ ...serverOptions, clusterEnabled: true }));
    const addresses = nodes.map((node) => `${HOST}:${node.port}`);
    await redisCli(
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      { password: options.password, caFile: nodes[0]?.tls?.caFile },
    );
    await waitForCluster(nodes, timeoutMs, (infos) =>
      infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info)),
    );
    await waitForCluster(nodes, timeoutMs, (infos) => infos.every(replicaLinkIsUp), 'INFO');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })),
    masters: async () => {
      const roles = await Promise.all(nodes.map((node) => node.cli('role')));
      return nodes.filter((_, i) => roles[i]?.startsWith('master'));
    },
    failover: (master, failoverTimeoutMs = 20_000) => failover(nodes, master, failoverTimeoutMs),
    stop,
  };
}

/** A replica whose link to its master is up, or a master. */
function replicaLinkIsUp(info: string): boolean {
  return /role:master/.test(info) || /master_link_status:up/.test(info);
}

async function failover(
  nodes: readonly RedisServer[],
  master: RedisServer,
  timeoutMs: number,
): Promise<RedisServer> {
  const masterId = (await master.cli('cluster', 'myid')).trim();
  const replicas = await master.cli('cluster', 'replicas', masterId);
  const port = /\s127\.0\.0\.1:(\d+)@/.exec(replicas)?.[1];
  const replica = nodes.find((node) => String(node.port) === port);
  if (replica === undefined) throw new Error(`master ${master.port} has no replica to fail over to`);
  const answer = await replica.cli('cluster', 'failover');
  if (!/OK/.test(answer)) throw new Error(`CLUSTER FAILOVER on ${replica.port} answered ${answer.trim()}`);
  const replicaId = (await replica.cli('cluster', 'myid')).trim();
  await waitForCluster(
    nodes,
    timeoutMs,
    (views) =>
      views.every(
        (view) =>
          new RegExp(`^${replicaId} \\S+ (myself,)?master `, 'm').test(view) &&
          new RegExp(`^${masterId} \\S+ (myself,)?slave `, 'm').test(view),
      ),
    'CLUSTER NODES',
  );
  await waitForCluster(nodes, timeoutMs, (infos) => infos.every((info) => /cluster_state:ok/.test(info)));
  await waitForCluster(nodes, timeoutMs, (infos) => infos.every(replicaLinkIsUp), 'INFO');
  return replica;
}

/** Starts a single server; shorthand for `RedisServer.start`. */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return RedisServer.start(options);
}

/**
 * Asks every node `command` (default CLUSTER INFO) until `agreed` holds for their answers. Gossip
 * has no event to wait for from outside: this polls, every 50 ms, up to `timeoutMs`.
 */
async function waitForCluster(
  nodes: readonly RedisServer[],
  timeoutMs: number,
  agreed: (answers: string[]) => boolean,
  command: 'CLUSTER INFO' | 'CLUSTER NODES' | 'INFO' = 'CLUSTER INFO',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const args =
    command === 'INFO' ? ['info', 'replication'] : ['cluster', command.split(' ')[1]?.toLowerCase() ?? ''];
  for (;;) {
    const answers = await Promise.all(nodes.map((node) => node.cli(...args)));
    if (agreed(answers)) return;
    if (Date.now() > deadline)
      throw new Error(`the cluster did not settle (${command}) in ${timeoutMs} ms:\n${answers.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the harness's clients need to talk to a server: its password, the CA its TLS certificate chains to. */
interface ClientAuth {
  readonly password?: string | undefined;
  readonly caFile?: string | undefined;
}

function redisCli(args: readonly string[], auth: ClientAuth = {}): Promise<string> {
  const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
  // REDISCLI_AUTH rather than -a: no warning on stderr, no password in the process list.
  const env = auth.password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: auth.password };
  const tls = auth.caFile === undefined ? [] : ['--tls', '--cacert', auth.caFile];
  return new Promise((resolve, reject) => {
    execFile(binary, [...tls, ...args], { timeout: 30_000, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Resolves when the server logs that it accepts connections (after loading its data). */
function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server not ready after ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(new Error(`redis-server exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining the pipes so the server never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (error) => fail(error));
  });
}

/** One RESP PING over a fresh socket (after an AUTH when a password is given): resolves on `+PONG`. */
function ping(port: number, { password, caFile }: ClientAuth): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket =
      caFile === undefined
        ? createConnection({ host: HOST, port })
        : connectTls({ host: HOST, port, ca: readFileSync(caFile) });
    const ready = caFile === undefined ? 'connect' : 'secureConnect';
    let reply = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('PING timed out')));
    socket.on(ready, () => {
      if (password !== undefined) socket.write(`AUTH ${JSON.stringify(password)}\r\n`);
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n');
      const expected = password === undefined ? 1 : 2;
      if (lines.length > expected) {
        socket.end();
        const last = lines[expected - 1] ?? '';
        if (lines.slice(0, expected - 1).every((line) => line === '+OK') && last.startsWith('+PONG'))
          resolve();
        else reject(new Error(`PING answered ${reply.trim()}`));
      }
    });
    socket.on('error', reject);
  });
}

/** A port nobody listens on now; with `withBusPort`, port + 10000 is free too (cluster bus). */
async function freePort(withBusPort: boolean): Promise<number> {
  for (;;) {
    const port = withBusPort ? 20_000 + Math.floor(Math.random() * 30_000) : await listenOnce(0);
    if (!withBusPort) return port;
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, HOST, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch {
    return false;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that dies without its afterAll must not leave servers behind.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
