/**
 * `ystate serve` as users run it: the built binary in a child process, real HTTP and real
 * y-websocket clients, restarts, signals and exit codes.
 */

import { createHmac } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPostgres } from '@ystate/postgres/testing';
import { startRedisServer } from '@ystate/redis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { assertBuilt, freePort, runCli, ServeProcess, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scratch(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

async function serve(
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<ServeProcess> {
  const server = await ServeProcess.start(args, env ? { cwd, env } : { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  expect(response.status, `GET ${url}`).toBe(200);
  return response.json();
}

async function patch(baseUrl: string, docId: string, ops: unknown[]): Promise<{ seq: number }> {
  const response = await fetch(`${baseUrl}/api/docs/${encodeURIComponent(docId)}/state`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify(ops),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { seq: number };
}

/** A y-websocket client in Node (the `ws` package stands in for the browser's WebSocket). */
function connect(
  wsUrl: string,
  docId: string,
): { doc: Y.Doc; provider: WebsocketProvider; synced: Promise<void> } {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(wsUrl, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  cleanups.push(() => {
    provider.destroy();
    doc.destroy();
  });
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    else provider.once('sync', () => resolve());
  });
  return { doc, provider, synced };
}

describe('ystate serve with no flags', () => {
  it('listens on 127.0.0.1:1234, serves the demo page and /healthz, and logs into ./.ystate', async () => {
    const cwd = await scratch();
    const server = await serve([], cwd);
    expect(server.url).toBe('http://127.0.0.1:1234');
    expect(server.logged('store: file log in')[0]?.store).toBe(`file log in ${join(cwd, '.ystate')}`);
    expect(server.logged('auth is off')).toHaveLength(1);

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<title>ystate demo</title>');
    // The bundle the page loads (y-websocket and yjs inside) is served too: no CDN.
    const script = /<script[^>]+src="\.?\/?([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = await fetch(`${server.url}/${script}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toContain('WebSocket');
    // Nothing is loaded from elsewhere (no CDN); the links to the docs are only links.
    expect(html).not.toMatch(/<(script|link|img|iframe)\b[^>]*\b(src|href)="https?:\/\//);
    expect(html).toMatch(/<a [^>]*href="https:\/\//);

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const { seq } = await patch(server.url, 'notes', [{ op: 'add', path: '/title', value: 'hello' }]);
    expect(seq).toBeGreaterThan(0);
    expect((await readdir(join(cwd, '.ystate'))).length).toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);

    // The same cwd, again with no flags: the write is back from ./.ystate.
    const again = await serve([], cwd);
    expect(await getJson(`${again.url}/api/docs/notes/state`)).toEqual({ title: 'hello' });
  });
});

describe('persistence and shutdown', () => {
  it('keeps a y-websocket edit across a restart of the process', async () => {
    const cwd = await scratch();
    const first = await serve(['--port', '0'], cwd);
    const alice = connect(first.wsUrl, 'shared/notes');
    await alice.synced;
    alice.doc.transact(() => {
      const text = new Y.Text('typed in a browser');
      alice.doc.getMap('state').set('text', text);
    });
    // The server applies a client's update only after the log holds it: seeing it over HTTP means durable.
    await waitFor(async () => {
      const state = (await getJson(`${first.url}/api/docs/${encodeURIComponent('shared/notes')}/state`)) as {
        text?: string;
      };
      return state.text === 'typed in a browser' ? true : undefined;
    }, 'the edit to reach the server');
    alice.provider.destroy();
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await serve(['--port', '0'], cwd);
    const bob = connect(second.wsUrl, 'shared/notes');
    await bob.synced;
    const text = bob.doc.getMap('state').get('text');
    expect(text).toBeInstanceOf(Y.Text);
    expect(String(text)).toBe('typed in a browser');
  });

  it('on SIGTERM, flushes and exits 0: writes acknowledged just before it are there after a restart', async () => {
    const cwd = await scratch();
    const first = await serve(['--port', '0', '--data', 'store'], cwd);
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        patch(first.url, 'counter', [{ op: 'add', path: `/k${i}`, value: i }]),
      ),
    );
    expect(new Set(acks.map((ack) => ack.seq)).size).toBe(50);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logged('stopped')).toHaveLength(1);

    const second = await serve(['--port', '0', '--data', 'store'], cwd);
    const state = (await getJson(`${second.url}/api/docs/counter/state`)) as Record<string, number>;
    expect(Object.keys(state)).toHaveLength(50);
    expect(state.k49).toBe(49);
    // SIGINT (Ctrl-C) is as graceful.
    expect(await second.stop('SIGINT')).toBe(0);
  });
});

describe('options', () => {
  it('takes port and data dir from the environment, and a flag over the environment', async () => {
    const cwd = await scratch();
    const [envPort, flagPort] = [await freePort(), await freePort()];

    const fromEnv = await serve([], cwd, { YSTATE_PORT: String(envPort), YSTATE_DATA: 'env-data' });
    expect(fromEnv.url).toBe(`http://127.0.0.1:${envPort}`);
    expect(fromEnv.logged('store:')[0]?.store).toBe(`file log in ${join(cwd, 'env-data')}`);
    expect(await fromEnv.stop()).toBe(0);

    const fromFlags = await serve(['--port', String(flagPort), '--data', 'flag-data'], cwd, {
      YSTATE_PORT: String(envPort),
      YSTATE_DATA: 'env-data',
    });
    expect(fromFlags.url).toBe(`http://127.0.0.1:${flagPort}`);
    await patch(fromFlags.url, 'doc', [{ op: 'add', path: '/where', value: 'flag' }]);
    expect(await fromFlags.stop()).toBe(0);
    expect((await readdir(join(cwd, 'flag-data'))).length).toBeGreaterThan(0);
    // Nothing was written for the document where the environment pointed.
    const envFiles = await readdir(join(cwd, 'env-data'));
    expect(envFiles.some((name) => name.includes('doc'))).toBe(false);
  });

  it('reads a JSON config file (paths relative to it), below the environment and flags', async () => {
    const cwd = await scratch();
    const [filePort, envPort] = [await freePort(), await freePort()];
    await writeFile(
      join(cwd, 'ystate.json'),
      JSON.stringify({ port: filePort, data: 'from-config', logLevel: 'warn' }),
    );
    const sub = join(cwd, 'elsewhere');
    await mkdir(sub);

    const fromFile = await serve(['--config', '../ystate.json', '--log-level', 'info'], sub);
    expect(fromFile.url).toBe(`http://127.0.0.1:${filePort}`);
    expect(fromFile.logged('store:')[0]?.store).toBe(`file log in ${join(cwd, 'from-config')}`);
    expect(await fromFile.stop()).toBe(0);

    const envWins = await serve(['--log-level', 'info'], sub, {
      YSTATE_CONFIG: join(cwd, 'ystate.json'),
      YSTATE_PORT: String(envPort),
    });
    expect(envWins.url).toBe(`http://127.0.0.1:${envPort}`);
    expect(await envWins.stop()).toBe(0);
  });

  it('requires tokens signed with the auth secret (from YSTATE_AUTH_SECRET)', async () => {
    const cwd = await scratch();
    const secret = 'correct horse battery staple';
    const server = await serve(['--port', '0'], cwd, { YSTATE_AUTH_SECRET: secret });
    expect(server.logged('auth is off')).toHaveLength(0);
    const url = `${server.url}/api/docs/private/state`;
    const claims = { sub: 'tester', ystate: { docs: { private: 'read' } } };
    expect((await fetch(url)).status).toBe(401);
    const forged = await fetch(url, {
      headers: { authorization: `Bearer ${signHs256(claims, 'wrong secret')}` },
    });
    expect(forged.status).toBe(401);
    const good = await fetch(url, { headers: { authorization: `Bearer ${signHs256(claims, secret)}` } });
    expect(good.status).toBe(200);
    // The token is for `private` only.
    const other = await fetch(`${server.url}/api/docs/other/state?token=${signHs256(claims, secret)}`);
    expect(other.status).toBe(403);
  });

  it.each([
    [['--port', 'abc'], {}, /invalid --port: "abc"/],
    [['--port', '70000'], {}, /invalid --port: "70000"/],
    [['--bogus'], {}, /unknown flag --bogus/],
    [['--port'], {}, /--port needs a value/],
    [['extra'], {}, /unexpected argument "extra"/],
    [[], { YSTATE_PORT: 'eighty' }, /invalid YSTATE_PORT: "eighty"/],
    [[], { YSTATE_LOG_LEVEL: 'loud' }, /invalid YSTATE_LOG_LEVEL: "loud"/],
    [['--redis', 'localhost:6379'], {}, /invalid --redis: .*redis:\/\//],
    [['--postgres', 'mysql://localhost/ystate'], {}, /invalid --postgres: .*postgres:\/\//],
    [
      ['--postgres', 'postgres://h/db'],
      { YSTATE_REDIS: 'redis://h:6379' },
      /choose one store: --redis and --postgres/,
    ],
    [['--config', 'missing.json'], {}, /cannot read config file .*missing\.json: no such file/],
  ] as const)('exits 2 with a clear message for %j %j', async (args, env, message) => {
    const cwd = await scratch();
    const result = await runCli(['serve', ...args], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('ystate serve --help');
  });

  it('refuses unknown config keys and bad JSON with exit 2', async () => {
    const cwd = await scratch();
    await writeFile(join(cwd, 'typo.json'), JSON.stringify({ prot: 1234 }));
    await writeFile(join(cwd, 'broken.json'), '{ "port": ');
    const typo = await runCli(['serve', '--config', 'typo.json'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown key "prot" in config file .*typo\.json \(known: port, host/);
    const broken = await runCli(['serve', '--config', 'broken.json'], { cwd });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json is not valid JSON/);
  });

  it('prints help (exit 0), and refuses unknown commands (exit 2)', async () => {
    const cwd = await scratch();
    const help = await runCli(['serve', '--help'], { cwd });
    expect(help.code).toBe(0);
    for (const flag of [
      '--port',
      '--host',
      '--data',
      '--redis',
      '--postgres',
      '--auth-secret',
      '--config',
      '--log-level',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toContain('YSTATE_AUTH_SECRET');
    const unknown = await runCli(['sreve'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "sreve"');
    expect((await runCli(['--version'], { cwd })).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 1 with the reason when the port is taken or the data dir is in use', async () => {
    const cwd = await scratch();
    const first = await serve(['--port', '0', '--data', 'shared'], cwd);
    const port = new URL(first.url).port;
    const portTaken = await runCli(['serve', '--port', port, '--data', 'other'], { cwd });
    expect(portTaken.code).toBe(1);
    expect(portTaken.stderr).toMatch(/port \d+ on 127\.0\.0\.1 is already in use/);
    const dirTaken = await runCli(['serve', '--port', '0', '--data', 'shared'], { cwd });
    expect(dirTaken.code).toBe(1);
    expect(dirTaken.stderr).toMatch(/is locked.*one server per data directory/);
  });
});

describe('ystate serve --redis', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.stop());

  it('two processes on one Redis share documents', async () => {
    const { url } = redis;
    const cwd = await scratch();
    const a = await serve(['--port', '0', '--redis', url], cwd);
    const b = await serve(['--port', '0'], cwd, { YSTATE_REDIS: url });
    expect(a.logged('store:')[0]?.store).toBe(`redis at ${url}`);

    const alice = connect(a.wsUrl, 'pair');
    const bob = connect(b.wsUrl, 'pair');
    await Promise.all([alice.synced, bob.synced]);
    alice.doc.getMap('state').set('from', 'alice');
    await waitFor(
      () => (bob.doc.getMap('state').get('from') === 'alice' ? true : undefined),
      'bob to see alice',
    );
    await patch(b.url, 'pair', [{ op: 'add', path: '/reply', value: 'bob' }]);
    await waitFor(
      () => (alice.doc.getMap('state').get('reply') === 'bob' ? true : undefined),
      'alice to see bob',
    );
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });

  it('exits 1 quickly when Redis cannot be reached', async () => {
    const cwd = await scratch();
    const port = await freePort();
    const result = await runCli(['serve', '--port', '0', '--redis', `redis://127.0.0.1:${port}`], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}/?: .*ECONNREFUSED`),
    );
  });
});

/** A compact HS256 JWT (what any JWT library would make), without a dependency for it. */
function signHs256(claims: object, secret: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iat: Math.floor(Date.now() / 1000), ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

describe('ystate serve --postgres', () => {
  let postgres: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    postgres = await startTestPostgres();
  }, 120_000);
  afterAll(() => postgres?.close(), 60_000);

  it('two processes on one PostgreSQL share documents, and the data outlives them', async () => {
    const { connectionString } = postgres;
    const cwd = await scratch();
    const a = await serve(['--port', '0', '--postgres', connectionString], cwd);
    const b = await serve(['--port', '0'], cwd, { YSTATE_POSTGRES: connectionString });
    expect(a.logged('store:')[0]?.store).toMatch(/^postgres at postgres(ql)?:\/\//);
    // The password never reaches the log.
    const password = new URL(connectionString).password;
    if (password !== '') expect(JSON.stringify(a.records)).not.toContain(password);

    const bob = connect(b.wsUrl, 'pg/pair');
    await bob.synced;
    await patch(a.url, 'pg/pair', [{ op: 'add', path: '/from', value: 'a' }]);
    await waitFor(
      () => (bob.doc.getMap('state').get('from') === 'a' ? true : undefined),
      "b to relay a's patch",
    );
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);

    const c = await serve(['--port', '0', '--postgres', connectionString], cwd);
    expect(await getJson(`${c.url}/api/docs/${encodeURIComponent('pg/pair')}/state`)).toEqual({ from: 'a' });
  });

  it('exits 1 when PostgreSQL cannot be reached', async () => {
    const cwd = await scratch();
    const port = await freePort();
    const result = await runCli(
      ['serve', '--port', '0', '--postgres', `postgres://127.0.0.1:${port}/nothing`],
      {
        cwd,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`cannot use PostgreSQL at postgres://127.0.0.1:${port}/nothing: .*ECONNREFUSED`),
    );
  });
});
