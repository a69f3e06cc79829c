/**
 * `ystate migrate --from y-redis` through the built binary, against documents a real y-redis 1.0.3
 * `RedisPersistence` wrote into a real redis-server.
 */

import { createRedisStore } from '@ystate/redis';
import { RedisServer } from '@ystate/redis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPersistence } from 'y-redis';
import * as Y from 'yjs';
import type { InspectReport } from '../src/commands/inspect.js';
import { assertBuilt, runCli, tempDir, waitFor } from './cli-process.js';

let redis: RedisServer;
let cwd: string;
let removeDir: () => Promise<void>;
/** What each y-redis document holds, and how many updates y-redis stored for it. */
const written = new Map<string, { json: unknown; updates: number }>();

beforeAll(async () => {
  assertBuilt();
  redis = await RedisServer.start();
  const dir = await tempDir();
  cwd = dir.path;
  removeDir = dir.remove;
  const persistence = new RedisPersistence({ redisOpts: { host: redis.host, port: redis.port } });
  for (const [name, rounds] of [
    ['rooms/a', 12],
    ['rooms/b', 5],
    ['lobby', 3],
  ] as const) {
    const ydoc = new Y.Doc();
    await persistence.bindState(name, ydoc).synced;
    const state = ydoc.getMap('state');
    let updates = 0;
    ydoc.on('update', () => updates++);
    ydoc.transact(() => {
      state.set('title', name);
      state.set('items', new Y.Array());
      state.set('text', new Y.Text('hi'));
    });
    for (let i = 0; i < rounds; i++) {
      ydoc.transact(() => {
        (state.get('items') as Y.Array<number>).push([i]);
        (state.get('text') as Y.Text).insert(0, String(i));
      });
    }
    written.set(name, { json: state.toJSON(), updates });
  }
  {
    // A CodeMirror-style document: one top-level Y.Text, no `state` map.
    const ydoc = new Y.Doc();
    await persistence.bindState('pads/t', ydoc).synced;
    let updates = 0;
    ydoc.on('update', () => updates++);
    const text = ydoc.getText('t');
    for (let i = 0; i < 10; i++) text.insert(text.length, `line ${i}: ${'x'.repeat(380)}\n`);
    written.set('pads/t', { json: { $roots: { t: text.toString() } }, updates });
  }
  // y-redis pushes asynchronously: wait until Redis holds every update.
  const reader = createRedisStore({ redis: redis.url, layout: 'y-redis' });
  for (const [name, { updates }] of written) {
    await waitFor(
      async () => ((await reader.log.head(name)) === updates ? true : undefined),
      `${name}:updates`,
    );
  }
  await reader.close();
  await persistence.destroy();
});
afterAll(async () => {
  await removeDir?.();
  await redis?.stop();
});

async function ystate(...args: string[]) {
  return runCli(args, { cwd });
}

describe('ystate migrate --from y-redis', () => {
  it('brings a document without a `state` map in whole, says which roots it found, and replays it', async () => {
    const migrate = await ystate(
      'migrate',
      '--from',
      'y-redis',
      '--redis',
      redis.url,
      '--docs',
      'pads/*',
      '--to-data',
      'pads',
    );
    expect(migrate.code, migrate.stderr).toBe(0);
    const { updates, json } = written.get('pads/t')!;
    expect(migrate.stdout).toBe(
      `pads/t: imported ${updates} updates, checkpoint at ${updates}; roots: t (Y.Text at /$roots/t), verified\n`,
    );
    const replay = await ystate('replay', 'pads/t', '--data', 'pads');
    expect(JSON.parse(replay.stdout)).toEqual(json);
    expect((json as { $roots: { t: string } }).$roots.t.length).toBe(3_890);
  });

  it('imports the matching documents into a file store, one entry per update and a checkpoint at the head', async () => {
    const migrate = await ystate(
      'migrate',
      '--from',
      'y-redis',
      '--redis',
      redis.url,
      '--docs',
      'rooms/*',
      '--to-data',
      'out',
    );
    expect(migrate.code, migrate.stderr).toBe(0);
    const a = written.get('rooms/a')!;
    const b = written.get('rooms/b')!;
    const roots = 'roots: state (Y.Map at the top level)';
    expect(migrate.stdout).toBe(
      `rooms/a: imported ${a.updates} updates, checkpoint at ${a.updates}; ${roots}, verified\nrooms/b: imported ${b.updates} updates, checkpoint at ${b.updates}; ${roots}, verified\n`,
    );
    expect(migrate.stderr).toMatch(
      /migrated 2 documents \(\d+ updates\) from y-redis at redis:\/\/127\.0\.0\.1:\d+\/? into file log in/,
    );

    for (const name of ['rooms/a', 'rooms/b']) {
      const replay = await ystate('replay', name, '--data', 'out');
      expect(JSON.parse(replay.stdout)).toEqual(written.get(name)?.json);
    }
    const report = JSON.parse(
      (await ystate('inspect', 'rooms/a', '--json', '--data', 'out')).stdout,
    ) as InspectReport;
    expect(report.head).toBe(a.updates);
    expect(report.checkpoints.map((c) => c.seq)).toEqual([a.updates]);
    expect(report.writers.map((w) => [w.origin, w.entries])).toEqual([['y-redis', a.updates]]);
    // Not matched by the pattern: not imported.
    expect((await ystate('replay', 'lobby', '--data', 'out')).code).toBe(1);

    // Running it again skips what is there.
    const again = await ystate(
      'migrate',
      '--from',
      'y-redis',
      '--redis',
      redis.url,
      '--docs',
      'rooms/*',
      '--to-data',
      'out',
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/rooms\/a: already imported \(\d+ entries\), skipped/);
  });

  it('imports into the same Redis in the ystate layout by default, leaving the y-redis keys', async () => {
    const migrate = await runCli(['migrate', '--from', 'y-redis'], { cwd, env: { YSTATE_REDIS: redis.url } });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/^lobby: imported \d+ updates/m);
    for (const [name, { json }] of written) {
      const replay = await ystate('replay', name, '--redis', redis.url);
      expect(JSON.parse(replay.stdout)).toEqual(json);
    }
    const yRedis = createRedisStore({ redis: redis.url, layout: 'y-redis' });
    expect((await yRedis.log.docIds()).sort()).toEqual(['lobby', 'pads/t', 'rooms/a', 'rooms/b']);
    await yRedis.close();
  });

  it('refuses other sources and a missing --redis with exit 2', async () => {
    const leveldb = await ystate('migrate', '--from', 'y-websocket-leveldb', '--redis', redis.url);
    expect(leveldb.code).toBe(2);
    expect(leveldb.stderr).toMatch(/expected one of y-redis, y-leveldb, files, postgres/);
    const noRedis = await ystate('migrate', '--from', 'y-redis');
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toMatch(/--redis URL is required/);
    const two = await ystate(
      'migrate',
      '--from',
      'y-redis',
      '--redis',
      redis.url,
      '--to-data',
      'x',
      '--to-postgres',
      'postgres://h/db',
    );
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/choose one target: --to-data and --to-postgres/);
  });
});
