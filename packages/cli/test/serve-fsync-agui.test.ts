/**
 * `ystate serve --fsync` (the embedded file store's fsync policy: flag, environment, config file,
 * refused with a shared store), and the AG-UI routes serve mounts before `@ystate/agui` is loaded.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aguiRoutes } from '@ystate/agui';
import { Engine, MemoryUpdateLog } from '@ystate/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AGUI_ROUTE_TABLE, checkTable, lazyAguiRoutes } from '../src/agui-routes.js';
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

async function serve(args: readonly string[], cwd: string, env?: Record<string, string>) {
  const server = await ServeProcess.start(['--port', '0', ...args], env ? { cwd, env } : { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

async function patch(baseUrl: string, docId: string, ops: unknown[]): Promise<void> {
  const response = await fetch(`${baseUrl}/api/docs/${docId}/state`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify(ops),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe('ystate serve --fsync', () => {
  it('defaults to always; takes the flag, YSTATE_FSYNC and the config key, in that order', async () => {
    const cwd = await scratch();
    await writeFile(join(cwd, 'ystate.json'), JSON.stringify({ fsync: 'never', fsyncInterval: 250 }));
    const parse = async (argv: string[], env: Record<string, string> = {}) => {
      const invocation = await parseServeArgs(argv, env, cwd);
      if (invocation.help) throw new Error('unexpected help');
      return invocation;
    };
    const fallback = await parse([]);
    expect(fallback.config.fsync).toBe('always');
    expect(fallback.config.fsyncIntervalMs).toBeUndefined();
    expect(fallback.sources.fsync).toBe('default');

    const env = await parse([], { YSTATE_FSYNC: 'interval', YSTATE_FSYNC_INTERVAL: '200' });
    expect([env.config.fsync, env.config.fsyncIntervalMs]).toEqual(['interval', 200]);
    const flag = await parse(['--fsync', 'never'], { YSTATE_FSYNC: 'interval' });
    expect([flag.config.fsync, flag.sources.fsync]).toEqual(['never', 'flag']);
    const file = await parse(['--config', 'ystate.json', '--fsync', 'interval']);
    expect([file.config.fsync, file.config.fsyncIntervalMs]).toEqual(['interval', 250]);
    expect(file.sources['fsync-interval']).toBe('config');
  });

  it.each([
    [['--fsync', 'sometimes'], {}, /invalid --fsync: "sometimes"/],
    [[], { YSTATE_FSYNC: 'often' }, /invalid YSTATE_FSYNC: "often"/],
    [['--fsync', 'interval', '--fsync-interval', '0'], {}, /invalid --fsync-interval: "0"/],
    [['--fsync', 'interval', '--fsync-interval', '1s'], {}, /invalid --fsync-interval: "1s"/],
    [['--fsync-interval', '500'], {}, /--fsync-interval does nothing with --fsync always/],
    [
      ['--fsync', 'interval', '--redis', 'redis://h:6379'],
      {},
      /--fsync applies to the embedded file store only, not with --redis/,
    ],
    [
      ['--postgres', 'postgres://h/db'],
      { YSTATE_FSYNC: 'never' },
      /--fsync applies to the embedded file store only, not with --postgres/,
    ],
    [
      ['--redis', 'redis://h:6379'],
      { YSTATE_FSYNC: 'always', YSTATE_FSYNC_INTERVAL: '100' },
      /--fsync applies to the embedded file store only/,
    ],
  ] as const)('exits 2 with a clear message for %j %j', async (args, env, message) => {
    const result = await runCli(['serve', ...args], { cwd: await scratch(), env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('ystate serve --help');
  });

  it('lists the options in --help', async () => {
    const help = await runCli(['serve', '--help'], { cwd: await scratch() });
    expect(help.code).toBe(0);
    for (const text of ['--fsync POLICY', 'YSTATE_FSYNC', '--fsync-interval MS', 'file store only']) {
      expect(help.stdout).toContain(text);
    }
    expect(help.stdout).toMatch(/Config file keys: .*fsync, fsyncInterval/);
  });

  it.each([
    [['--fsync', 'interval', '--fsync-interval', '50'], ' (fsync every 50 ms)'],
    [['--fsync', 'interval'], ' (fsync every 1000 ms)'],
    [['--fsync', 'never'], ' (fsync never)'],
    [[], ''],
  ])(
    'serves with %j, logs the policy and keeps what it acknowledged across a clean restart',
    async (args, shown) => {
      const cwd = await scratch();
      const first = await serve([...args, '--data', 'data'], cwd);
      expect(first.logged('store:')[0]?.store).toBe(`file log in ${join(cwd, 'data')}${shown}`);
      await patch(first.url, 'doc', [{ op: 'add', path: '/n', value: 42 }]);
      expect(await first.stop()).toBe(0);

      const second = await serve([...args, '--data', 'data'], cwd);
      const state = await fetch(`${second.url}/api/docs/doc/state`);
      expect(await state.json()).toEqual({ n: 42 });
      expect(await second.stop()).toBe(0);
    },
  );
});

describe('the AG-UI routes of ystate serve', () => {
  it('mount the table @ystate/agui serves', () => {
    const engine = new Engine({ log: new MemoryUpdateLog() });
    const real = aguiRoutes(engine);
    expect(() => checkTable(real)).not.toThrow();
    const lazy = lazyAguiRoutes(engine);
    expect(lazy.map(({ method, path, access }) => ({ method, path, access }))).toEqual(
      real.map(({ method, path, access }) => ({ method, path, access })),
    );
    expect(lazy.map(({ method, path, access }) => ({ method, path, access }))).toEqual(AGUI_ROUTE_TABLE);
    expect(() => checkTable(real.slice().reverse())).toThrow(/serve mounts GET/);
  });

  it('serve the events stream and AG-UI runs (loading @ystate/agui on the first request)', async () => {
    const server = await serve([], await scratch());
    await patch(server.url, 'agui-doc', [{ op: 'add', path: '/title', value: 'hello' }]);

    const controller = new AbortController();
    const events = await fetch(`${server.url}/api/docs/agui-doc/events`, { signal: controller.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('STATE_SNAPSHOT');
    expect(text).toContain('hello');
    controller.abort();

    const run = await fetch(`${server.url}/api/docs/agui-doc/agui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        threadId: 't',
        runId: 'r',
        state: {},
        messages: [],
        tools: [],
        context: [],
        forwardedProps: { ystate: { idleMs: 0 } },
      }),
    });
    expect(run.status).toBe(200);
    const body = await run.text();
    for (const type of ['RUN_STARTED', 'STATE_SNAPSHOT', 'RUN_FINISHED']) expect(body).toContain(type);

    const wrongMethod = await fetch(`${server.url}/api/docs/agui-doc/events`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
  });
});
