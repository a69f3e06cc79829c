/** `ystate serve --cors-origin`: the flag (repeatable, comma lists), env, config file and credentials rules, and a real process answering preflights. */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/serve-options.js';
import { assertBuilt, ServeProcess, tempDir } from './cli-process.js';

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

describe('ystate serve CORS options', () => {
  it('are off by default, and come from repeated flags, comma lists, YSTATE_CORS_ORIGIN or the config file', async () => {
    const cwd = await scratch();
    await writeFile(
      join(cwd, 'ystate.json'),
      JSON.stringify({ corsOrigin: ['https://file.example'], corsCredentials: true }),
    );
    const parse = async (argv: string[], env: Record<string, string> = {}) => {
      const invocation = await parseServeArgs(argv, env, cwd);
      if (invocation.help) throw new Error('unexpected help');
      return invocation.config.cors;
    };
    expect(await parse([])).toBeUndefined();
    expect(
      await parse([
        '--cors-origin',
        'https://a.example',
        '--cors-origin',
        'http://b.example:8080,http://127.0.0.1:5173',
      ]),
    ).toEqual({
      origins: ['https://a.example', 'http://b.example:8080', 'http://127.0.0.1:5173'],
      credentials: false,
    });
    expect(await parse([], { YSTATE_CORS_ORIGIN: '*' })).toEqual({ origins: ['*'], credentials: false });
    expect(await parse(['--config', 'ystate.json'])).toEqual({
      origins: ['https://file.example'],
      credentials: true,
    });
    expect(await parse(['--cors-origin', 'https://a.example/', '--cors-credentials', 'true'])).toEqual({
      origins: ['https://a.example'],
      credentials: true,
    });
  });

  it.each([
    [['--cors-origin', 'https://a.example/app'], /is not an origin/],
    [['--cors-origin', 'ftp://a.example'], /is not an origin/],
    [['--cors-origin', '*', '--cors-credentials', 'true'], /cannot be used with --cors-origin \*/],
    [['--cors-credentials', 'true'], /does nothing without --cors-origin/],
  ])('refuses %j with INVALID_CONFIG', async (argv, message) => {
    const cwd = await scratch();
    await expect(parseServeArgs(argv, {}, cwd)).rejects.toMatchObject({ code: 'INVALID_CONFIG', message });
  });

  it('a served process answers an allowed origin’s preflight and refuses another', async () => {
    const cwd = await scratch();
    const server = await ServeProcess.start(['--port', '0', '--cors-origin', 'http://app.example'], { cwd });
    cleanups.push(() => server.stop('SIGKILL'));
    const preflight = (origin: string) =>
      fetch(`${server.url}/api/docs/d/events`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'last-event-id',
        },
      });
    const allowed = await preflight('http://app.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Last-Event-ID');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST'); // /agui
    expect((await preflight('http://other.example')).status).toBe(403);
  });
});
