/**
 * `ystate diff`, `revert`, `undo` and `versions` through the built binary, on a file store written
 * by an engine: a person's edits and an agent run recorded the way the AG-UI bridge records one.
 */

import { join } from 'node:path';
import { collaborativeText, Engine, type Json } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { startRedisServer } from '@ystate/redis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, ServeProcess, tempDir } from './cli-process.js';

let cwd: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  assertBuilt();
  const dir = await tempDir();
  cwd = dir.path;
  removeDir = dir.remove;
  const log = await openFileLog({ dir: join(cwd, 'data') });
  const engine = new Engine({ log, nodeId: 'server' });
  await engine.write('doc', (tx) => tx.set('', { title: 'draft', body: collaborativeText('hello') }), {
    origin: 'alice',
  }); // 1
  const origin = 'agui:run-1';
  const event = (name: string) => ({ type: 'event', name, path: '', data: { runId: 'run-1' } });
  await engine.record('doc', event('agui.RUN_STARTED'), { origin }); // 2
  await engine.write('doc', (tx) => tx.set('/title', 'by the agent'), { origin }); // 3
  await engine.write('doc', (tx) => tx.spliceText('/body', 5, 0, ' world'), { origin: 'bob' }); // 4
  await engine.write('doc', (tx) => tx.set('/summary', 'agent summary'), { origin }); // 5
  await engine.record('doc', event('agui.RUN_FINISHED'), { origin }); // 6
  await engine.close();
  await log.close();
});
afterAll(async () => {
  await removeDir?.();
});

function ystate(...args: string[]) {
  return runCli([...args, '--data', 'data'], { cwd });
}

async function json<T = Json>(...args: string[]): Promise<T> {
  const result = await ystate(...args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe('version commands', () => {
  it('each prints its --help (exit 0) and refuses bad usage (exit 2)', async () => {
    for (const command of ['diff', 'revert', 'undo', 'versions']) {
      const help = await runCli([command, '--help'], { cwd });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: ystate ${command} <docId>`);
    }
    const top = await runCli(['--help'], { cwd });
    expect(top.stdout).toMatch(/diff {6}print the JSON Patch/);
    for (const args of [
      ['diff', 'doc'],
      ['revert', 'doc'],
      ['undo', 'doc'],
      ['undo', 'doc', '--run', 'r', '--origin', 'x'],
      ['versions', 'doc', '--seq', '1'],
    ]) {
      const result = await ystate(...args);
      expect(result.code, args.join(' ')).toBe(2);
    }
  });

  it('names versions, lists them, diffs between points, reverts to one and undoes a run', async () => {
    expect(
      await json('versions', 'doc', '--name', 'before-agent', '--seq', '1', '--as', 'alice'),
    ).toMatchObject({
      name: 'before-agent',
      seq: 1,
      origin: 'alice',
      namedAt: 7,
    });
    const listed = await ystate('versions', 'doc');
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([{ name: 'before-agent', seq: 1, origin: 'alice', namedAt: 7, time: expect.any(Number) }]);
    const taken = await ystate('versions', 'doc', '--name', 'before-agent');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already has a version named "before-agent"');

    expect(await json('diff', 'doc', '--from', 'before-agent', '--to', '3')).toEqual({
      from: 1,
      to: 3,
      patch: [{ op: 'replace', path: '/title', value: 'by the agent' }],
    });
    expect((await json<{ to: number }>('diff', 'doc', '--from', '0')).to).toBe(7);
    const missing = await ystate('diff', 'doc', '--from', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no version named "nope"');

    expect(await json('undo', 'doc', '--run', 'run-1', '--as', 'alice')).toMatchObject({
      origin: 'agui:run-1',
      from: 2,
      to: 6,
      entries: 2,
      updateSeq: 8,
      seq: 9,
    });
    const afterUndo = await ystate('replay', 'doc');
    expect(JSON.parse(afterUndo.stdout)).toEqual({ title: 'draft', body: 'hello world' });

    expect(await json('revert', 'doc', '--to', 'before-agent')).toEqual({ seq: 10, to: 1 });
    expect(JSON.parse((await ystate('replay', 'doc')).stdout)).toEqual({ title: 'draft', body: 'hello' });
    const step = await ystate('replay', 'doc', '--step', '--from', '10');
    expect(JSON.parse(step.stdout)).toMatchObject({
      seq: 10,
      origin: 'ystate-cli',
      event: { name: 'ystate.version.reverted', data: { to: 1, version: 'before-agent' } },
    });
  });
});

describe('named versions and compaction', () => {
  it('compact --retain keeps the history a named version needs, until versions --delete releases it', async () => {
    const log = await openFileLog({ dir: join(cwd, 'data') });
    const engine = new Engine({ log, nodeId: 'server' });
    for (let i = 1; i <= 10; i++) await engine.write('pins', (tx) => tx.set('/n', i), { origin: 'alice' });
    await engine.nameVersion('pins', 'four', { seq: 4, origin: 'alice' }); // 11
    await engine.write('pins', (tx) => tx.set('/n', 11)); // 12
    await engine.close();
    await log.close();

    const compacted = await ystate('compact', 'pins', '--retain', '2');
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(compacted.stdout).toContain('history from seq 4 kept for version "four"');
    expect(await json('diff', 'pins', '--from', '0', '--to', 'four')).toEqual({
      from: 0,
      to: 4,
      patch: [{ op: 'add', path: '/n', value: 4 }],
    });
    expect(await json('versions', 'pins', '--delete', 'four', '--as', 'alice')).toEqual({
      name: 'four',
      seq: 4,
      deletedAt: 13,
    });
    const again = await ystate('compact', 'pins', '--retain', '2');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('kept for version');
    expect(again.stdout).toContain('pruned');
    const gone = await ystate('diff', 'pins', '--from', '0', '--to', '4');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no longer holds seq');
  });
});

describe('version commands against Redis while a server runs', () => {
  it('a revert and an undo from the CLI reach the running server at once', async () => {
    const redis = await startRedisServer();
    const server = await ServeProcess.start(['--port', '0', '--redis', redis.url], { cwd });
    try {
      const state = `${server.url}/api/docs/shared/state`;
      const patch = (ops: unknown) =>
        fetch(state, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json' },
          body: JSON.stringify(ops),
        });
      expect((await patch([{ op: 'add', path: '/step', value: 1 }])).status).toBe(200);
      const cli = (...args: string[]) => runCli([...args, '--redis', redis.url], { cwd });
      const named = await cli('versions', 'shared', '--name', 'one');
      expect(named.code, named.stderr).toBe(0);
      expect((await patch([{ op: 'replace', path: '/step', value: 2 }])).status).toBe(200);
      const reverted = await cli('revert', 'shared', '--to', 'one', '--as', 'operator');
      expect(reverted.code, reverted.stderr).toBe(0);
      // The server applied the CLI's entry (delivered by Redis) before answering with a seq past it.
      const { seq } = JSON.parse(reverted.stdout) as { seq: number };
      await until(async () => {
        const response = await fetch(state);
        return Number(response.headers.get('x-ystate-seq')) >= seq && (await response.json()).step === 1;
      });
      const undone = await cli('undo', 'shared', '--origin', 'operator');
      expect(undone.code, undone.stderr).toBe(0);
      await until(async () => (await (await fetch(state)).json()).step === 2);
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});

/** Checks `condition` until it holds (the server applies Redis deliveries asynchronously). */
async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
