/**
 * `ystate serve --auth-max-token-age` and the slow-socket timeouts of the config file's `limits`:
 * parsed from flag, environment and config file, refused when meaningless, and wired to the server.
 */

import { writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/serve-options.js';
import { assertBuilt, runCli, ServeProcess, tempDir } from './cli-process.js';

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

describe('ystate serve: token age and slow sockets', () => {
  it('takes --auth-max-token-age from the flag, YSTATE_AUTH_MAX_TOKEN_AGE or authMaxTokenAge', async () => {
    const cwd = await scratch();
    await writeFile(join(cwd, 'ystate.json'), JSON.stringify({ authSecret: 's', authMaxTokenAge: 600 }));
    const parse = async (argv: string[], env: Record<string, string> = {}) => {
      const invocation = await parseServeArgs(argv, env, cwd);
      if (invocation.help) throw new Error('unexpected help');
      return invocation.config.authMaxTokenAge;
    };
    expect(await parse(['--auth-secret', 's'])).toBeUndefined();
    expect(await parse(['--auth-secret', 's', '--auth-max-token-age', '60'])).toBe(60);
    expect(await parse(['--auth-secret', 's'], { YSTATE_AUTH_MAX_TOKEN_AGE: '90' })).toBe(90);
    expect(await parse(['--config', 'ystate.json'])).toBe(600);
  });

  it.each([
    [['--auth-max-token-age', '60'], /--auth-max-token-age does nothing without --auth-secret/],
    [['--auth-secret', 's', '--auth-max-token-age', '0'], /invalid --auth-max-token-age: "0"/],
    [['--auth-secret', 's', '--auth-max-token-age', '1h'], /invalid --auth-max-token-age: "1h"/],
  ])('exits 2 for %j', async (args, message) => {
    const result = await runCli(['serve', ...args], { cwd: await scratch() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('serves with them: an old token without exp answers 401, a silent socket is closed with 408', async () => {
    const cwd = await scratch();
    await writeFile(
      join(cwd, 'ystate.json'),
      JSON.stringify({ limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, upgradeTimeoutMs: 500 } }),
    );
    const secret = 'a-secret-for-the-cli-test';
    const server = await ServeProcess.start(
      ['--port', '0', '--config', 'ystate.json', '--auth-secret', secret, '--auth-max-token-age', '60'],
      { cwd },
    );
    cleanups.push(() => server.stop('SIGKILL'));
    const sign = (iat: number) =>
      new SignJWT({ ystate: { docs: { '**': 'read' } } })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(iat)
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    const state = async (jwt: string) =>
      (await fetch(`${server.url}/api/docs/doc/state`, { headers: { authorization: `Bearer ${jwt}` } }))
        .status;
    expect(await state(await sign(now - 3600))).toBe(401);
    expect(await state(await sign(now))).toBe(200);

    const { port, hostname } = new URL(server.url);
    const socket = connectTcp(Number(port), hostname);
    let answer = '';
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
    });
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});
