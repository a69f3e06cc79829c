/**
 * The CLI explains itself: mistakes get our words and a way forward, expected start-up failures
 * are one line without a stack trace, read-only commands create nothing and work beside a running
 * server, `ystate token` mints what the server accepts, and HEAD answers wherever GET does.
 */

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freePort, runCli, ServeProcess, tempDir } from './cli-process.js';

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

async function serve(args: readonly string[], cwd: string): Promise<ServeProcess> {
  const server = await ServeProcess.start(args, { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

async function patch(
  url: string,
  docId: string,
  ops: unknown[],
  token?: string,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/api/docs/${encodeURIComponent(docId)}/state`, {
    method: 'PATCH',
    headers: {
      'content-type': 'application/json-patch+json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(ops),
  });
  return { status: response.status, body: await response.json() };
}

/** The lines a process wrote, without blank ones. */
const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

describe('flag mistakes', () => {
  it.each([
    [['serve', '--prot', '4311'], 'ystate serve: unknown flag --prot; did you mean --port?'],
    [['serve', '--port', 'abc'], 'ystate serve: invalid --port: "abc" (expected a whole number)'],
    [
      ['serve', '--port', '-1'],
      'ystate serve: invalid --port: "-1" (expected a whole number from 0 to 65535)',
    ],
    [
      ['compact', 'doc', '--retain', '-3'],
      'ystate compact: invalid --retain: "-3" (expected a whole number of at least 0)',
    ],
    [['replay', 'doc', '--to'], 'ystate replay: --to needs a value'],
    [['replay', 'doc', '--step=yes'], 'ystate replay: --step takes no value (got "yes")'],
    [['inspect', 'doc', '--jsn'], 'ystate inspect: unknown flag --jsn; did you mean --json?'],
    [['token', '--secret', 's', '--grant', '/abs'], 'ystate token: invalid --grant'],
  ])('%j exits 2 with our message and the way to the help', async (args, message) => {
    const result = await runCli(args, { cwd: await scratch() });
    expect(result.code).toBe(2);
    const [first, second, ...rest] = lines(result.stderr);
    expect(first).toContain(message);
    expect(second).toBe(`Run \`ystate ${args[0]} --help\` for the options.`);
    expect(rest).toEqual([]);
  });

  it('suggests the command meant by a typo', async () => {
    const result = await runCli(['serv', '--port', '0'], { cwd: await scratch() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ystate: unknown command "serv"; did you mean "serve"?');
  });
});

describe('expected start-up failures: one line with the cause and what to do, exit 1', () => {
  async function expectOneLine(args: readonly string[], cwd: string, pattern: RegExp): Promise<void> {
    const result = await runCli(['serve', ...args], { cwd });
    expect(result.code, result.stderr).toBe(1);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(pattern)]);
    expect(result.stdout + result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('"stack"');
  }

  it('port in use', async () => {
    const cwd = await scratch();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await expectOneLine(
      ['--port', String(port)],
      cwd,
      new RegExp(`^ystate serve: cannot start: port ${port} on 127.0.0.1 is already in use: .*--port`),
    );
  });

  it('store locked by a running server', async () => {
    const cwd = await scratch();
    await serve(['--port', '0'], cwd);
    await expectOneLine(
      ['--port', '0'],
      cwd,
      /^ystate serve: cannot start: the store directory .* is locked: .*--redis/,
    );
  });

  it('Redis unreachable', async () => {
    const cwd = await scratch();
    const port = await freePort();
    await expectOneLine(
      ['--port', '0', '--redis', `redis://127.0.0.1:${port}`],
      cwd,
      /^ystate serve: cannot start: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+.*; check the URL/,
    );
  });
});

describe('commands that read the store', () => {
  it.each([
    [['replay', 'doc']],
    [['inspect', 'doc']],
    [['backup', '--out', 'out.ystate-backup']],
    [['compact', 'doc']],
  ])('%j with --data naming a missing directory: a clear error, nothing created', async (args) => {
    const cwd = await scratch();
    const result = await runCli([...args, '--data', join(cwd, 'typo', 'dir')], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /no store directory at .*typo\/dir: it does not exist .*nothing was created/,
    );
    expect(existsSync(join(cwd, 'typo'))).toBe(false);
    expect(existsSync(join(cwd, 'out.ystate-backup'))).toBe(false);
  });

  it('replay and inspect read the default store while serve holds it, and the server goes on writing', async () => {
    const cwd = await scratch();
    const server = await serve(['--port', '0'], cwd);
    expect((await patch(server.url, 'notes/1', [{ op: 'add', path: '/title', value: 'draft' }])).status).toBe(
      200,
    );
    expect((await patch(server.url, 'notes/1', [{ op: 'add', path: '/done', value: true }])).status).toBe(
      200,
    );

    const replayed = await runCli(['replay', 'notes/1'], { cwd });
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toEqual({ title: 'draft', done: true });
    const inspected = await runCli(['inspect', 'notes/1', '--json'], { cwd });
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ docId: 'notes/1', head: 2, retained: 2 });
    expect(JSON.parse(inspected.stdout).store).toContain('(read-only)');

    expect(await patch(server.url, 'notes/1', [{ op: 'replace', path: '/title', value: 'final' }])).toEqual({
      status: 200,
      body: { seq: 3 },
    });
    expect(existsSync(join(cwd, '.ystate', 'LOCK'))).toBe(true);
  });

  it('a read-only command on an existing empty directory says there is no history, and writes nothing there', async () => {
    const cwd = await scratch();
    await mkdir(join(cwd, 'empty'));
    const result = await runCli(['replay', 'doc', '--data', 'empty'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('has no history');
    expect(existsSync(join(cwd, 'empty', 'LOCK'))).toBe(false);
  });
});

describe('ystate token', () => {
  it('mints tokens the server accepts, with the grants, read-only access and expiry asked for', async () => {
    const cwd = await scratch();
    const secret = 'a secret of the test';
    const server = await serve(['--port', '0', '--auth-secret', secret], cwd);
    const mint = async (args: string[], env: Record<string, string> = {}) => {
      const result = await runCli(['token', ...args], { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim();
    };

    const writer = await mint(['--secret', secret, '--grant', 'docs/*:write', '--grant', 'public/**:read']);
    const claims = decodeJwt(writer);
    expect(claims).toMatchObject({
      sub: 'ystate-token',
      ystate: { docs: { 'docs/*': 'write', 'public/**': 'read' } },
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
    expect((await patch(server.url, 'docs/1', [{ op: 'add', path: '/a', value: 1 }], writer)).status).toBe(
      200,
    );
    expect((await patch(server.url, 'public/x', [{ op: 'add', path: '/a', value: 1 }], writer)).status).toBe(
      403,
    );
    expect((await patch(server.url, 'other/1', [{ op: 'add', path: '/a', value: 1 }], writer)).status).toBe(
      403,
    );

    // The secret from the variable serve reads; --read-only turns every grant into read.
    const reader = await mint(['--grant', 'docs/*', '--read-only', '--expires', '2h', '--sub', 'viewer'], {
      YSTATE_AUTH_SECRET: secret,
    });
    const readerClaims = decodeJwt(reader);
    expect(readerClaims).toMatchObject({ sub: 'viewer', ystate: { docs: { 'docs/*': 'read' } } });
    expect((readerClaims.exp ?? 0) - (readerClaims.iat ?? 0)).toBe(7200);
    const read = await fetch(`${server.url}/api/docs/docs%2F1/state`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ a: 1 });
    expect((await patch(server.url, 'docs/1', [{ op: 'add', path: '/b', value: 2 }], reader)).status).toBe(
      403,
    );

    const forged = await mint(['--secret', 'another secret']);
    expect((await fetch(`${server.url}/api/docs/docs%2F1/state?token=${forged}`)).status).toBe(401);
    expect(decodeJwt(await mint(['--secret', secret, '--expires', 'never'])).exp).toBeUndefined();
  });

  it('refuses to mint without a secret', async () => {
    const result = await runCli(['token', '--grant', 'docs/*'], { cwd: await scratch() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing --secret (or YSTATE_AUTH_SECRET)');
  });
});

describe('HEAD', () => {
  it('answers wherever GET does on a running serve, streams included, without a body', async () => {
    const cwd = await scratch();
    const server = await serve(['--port', '0'], cwd);
    await patch(server.url, 'doc', [{ op: 'add', path: '/a', value: 1 }]);
    for (const path of [
      '/api/docs/doc/state',
      '/api/docs/doc/history',
      '/api/docs/doc/events',
      '/healthz',
      '/',
    ]) {
      const head = await fetch(`${server.url}${path}`, {
        method: 'HEAD',
        signal: AbortSignal.timeout(10_000),
      });
      expect(head.status, path).toBe(200);
      expect(await head.text(), path).toBe('');
    }
  });
});
