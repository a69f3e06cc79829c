/**
 * A throwaway PostgreSQL for tests: `initdb` into a temporary directory, `postgres` on a free
 * port of 127.0.0.1 with its unix socket in that directory, `fsync=off` for speed (commits still
 * reach the OS, so an immediate shutdown loses nothing acknowledged; a machine crash would). Run as
 * root, the server runs as the `postgres` OS user (initdb and postgres refuse root). When no
 * server binaries can be run, `startTestPostgres` falls back to a throwaway database on a running
 * server (`YSTATE_TEST_POSTGRES_URL`, default postgresql://postgres@127.0.0.1:5432/postgres).
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServerOptions {
  /** Directory holding `initdb` and `postgres` (default: `YSTATE_POSTGRES_BIN`, the newest /usr/lib/postgresql/<v>/bin, then PATH). */
  binDir?: string;
  /** Extra server settings, passed as `-c name=value`. */
  settings?: Record<string, string | number>;
  /** How long startup may take (default 60,000 ms). */
  startTimeoutMs?: number;
}

/** How `stop` shuts the server down: `fast` checkpoints first, `immediate` is a crash (recovery on the next start). */
export type ShutdownMode = 'fast' | 'immediate';

const READY = 'database system is ready to accept connections';
const LOG_LIMIT = 64 * 1024;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A PostgreSQL cluster of its own in a temporary directory; `destroy` removes every trace. */
export class PostgresServer {
  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  readonly database = 'postgres';
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    /** The temporary directory: `data/` and the unix socket. */
    readonly dir: string,
    readonly port: number,
    private readonly binDir: string,
    private readonly owner: { uid: number; gid: number } | undefined,
    private readonly settings: Record<string, string | number>,
    private readonly startTimeoutMs: number,
  ) {}

  /** Initialises a cluster in a new temporary directory and starts it on a free port. */
  static async start(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const binDir = options.binDir ?? findBinDir();
    const owner = serverOwner();
    const dir = await mkdtemp(join(tmpdir(), 'ystate-pg-'));
    try {
      if (owner) await chown(dir, owner.uid, owner.gid);
      await run(
        join(binDir, 'initdb'),
        ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N'],
        owner,
      );
      const settings = {
        fsync: 'off',
        full_page_writes: 'off',
        max_connections: 200,
        shared_buffers: '32MB',
        ...options.settings,
      };
      // A free port can be taken between probing and binding: try a few.
      for (let attempt = 1; ; attempt++) {
        const server = new PostgresServer(
          dir,
          await freePort(),
          binDir,
          owner,
          settings,
          options.startTimeoutMs ?? 60_000,
        );
        try {
          await server.launch();
          return server;
        } catch (error) {
          if (attempt >= 5 || !/could not bind|already in use/i.test(server.log)) throw error;
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** `postgresql://postgres@127.0.0.1:PORT/postgres`. */
  get connectionString(): string {
    return `postgresql://${this.user}@${this.host}:${this.port}/${this.database}`;
  }

  /** The unix socket directory, usable as `host` in pg settings. */
  get socketDir(): string {
    return this.dir;
  }

  /** True while the server process runs. */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** The server's log so far (the last 64 KiB). */
  get output(): string {
    return this.log;
  }

  /** Stops the server and keeps its data (`start` again, or `destroy`). */
  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts the stopped server again, on the same port and data. */
  async start(): Promise<void> {
    if (this.child === undefined) await this.launch();
  }

  /** Stops (by `mode`) and starts again; clients see their connections drop. */
  async restart(mode: ShutdownMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.launch();
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop('immediate');
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Creates a database and answers its connection string. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.connectionString });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
    return `postgresql://${this.user}@${this.host}:${this.port}/${encodeURIComponent(name)}`;
  }

  private launch(): Promise<void> {
    const args = ['-D', join(this.dir, 'data'), '-p', String(this.port), '-h', this.host, '-k', this.dir];
    for (const [name, value] of Object.entries(this.settings)) args.push('-c', `${name}=${value}`);
    const child = spawn(join(this.binDir, 'postgres'), args, {
      ...(this.owner ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    installExitHook();
    running.add(child);
    this.child = child;
    this.log = '';
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        fail(new Error(`PostgreSQL did not start within ${this.startTimeoutMs} ms:\n${this.log}`));
        child.kill('SIGQUIT');
      }, this.startTimeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const onOutput = (chunk: Buffer) => {
        this.log = (this.log + chunk.toString()).slice(-LOG_LIMIT);
        if (!ready && this.log.includes(READY)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onOutput);
      child.stderr?.on('data', onOutput);
      child.once('error', (error) => fail(error));
      child.once('exit', (code, signal) => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        if (!ready)
          fail(new Error(`PostgreSQL exited (${signal ?? code}) before it was ready:\n${this.log}`));
      });
    });
  }
}

/** A database on an already running server, created for the tests and dropped after them. */
export class ThrowawayDatabase {
  private constructor(
    private readonly adminUrl: string,
    readonly name: string,
    readonly connectionString: string,
  ) {}

  /** Creates `ystate_test_<random>` on the server `adminUrl` points to. */
  static async create(
    adminUrl = process.env.YSTATE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  ): Promise<ThrowawayDatabase> {
    const name = `ystate_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return new ThrowawayDatabase(adminUrl, name, url.toString());
  }

  /** Drops the database, ending whatever connections are left on it. */
  async drop(): Promise<void> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(this.name)} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
}

/** What tests connect to: a cluster of their own, or (fallback) a throwaway database. */
export interface TestPostgres {
  readonly connectionString: string;
  /** The cluster, when the tests have one of their own (restart tests need it). */
  readonly server: PostgresServer | undefined;
  /** Stops and removes the cluster, or drops the database. */
  close(): Promise<void>;
}

/**
 * A cluster of the tests' own when PostgreSQL's server binaries can be run here; otherwise a
 * throwaway database on the running server. `YSTATE_TEST_POSTGRES_URL` forces the fallback.
 */
export async function startTestPostgres(options: PostgresServerOptions = {}): Promise<TestPostgres> {
  let clusterError: unknown;
  if (process.env.YSTATE_TEST_POSTGRES_URL === undefined) {
    try {
      const server = await PostgresServer.start(options);
      return { connectionString: server.connectionString, server, close: () => server.destroy() };
    } catch (error) {
      clusterError = error;
    }
  }
  try {
    const database = await ThrowawayDatabase.create();
    return { connectionString: database.connectionString, server: undefined, close: () => database.drop() };
  } catch (error) {
    throw new AggregateError(
      clusterError === undefined ? [error] : [clusterError, error],
      'no PostgreSQL for the tests: neither a cluster of their own nor a database on a running server',
    );
  }
}

/** The newest installed server binaries: `YSTATE_POSTGRES_BIN`, /usr/lib/postgresql/<v>/bin, /usr/local/pgsql/bin, then PATH. */
function findBinDir(): string {
  const fromEnv = process.env.YSTATE_POSTGRES_BIN;
  if (fromEnv) return fromEnv;
  const candidates: string[] = [];
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((name) => /^[0-9.]+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
  } catch {
    // Not a Debian-style install.
  }
  candidates.push('/usr/local/pgsql/bin', ...(process.env.PATH ?? '').split(':').filter(Boolean));
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (found === undefined)
    throw new Error('no PostgreSQL server binaries (initdb, postgres) found; set YSTATE_POSTGRES_BIN');
  return found;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user. */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root, and there is no `postgres` OS user to run the server as');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function run(file: string, args: string[], owner: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

/** Servers left running when the test process exits are shut down with it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGQUIT');
  });
}
