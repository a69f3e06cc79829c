/**
 * `ystate backup` and `ystate restore` through the built binary, across the three stores: a real
 * redis-server and a throwaway PostgreSQL cluster, both spawned for this file.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { createPostgresStore } from '@ystate/postgres';
import { startTestPostgres, type TestPostgres } from '@ystate/postgres/testing';
import { createRedisStore } from '@ystate/redis';
import { RedisServer } from '@ystate/redis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, tempDir } from './cli-process.js';
import { type DocumentSnapshot, populate, snapshot, snapshotFileStore } from './history-fixtures.js';

let redis: RedisServer;
let postgres: TestPostgres;
beforeAll(async () => {
  assertBuilt();
  [redis, postgres] = await Promise.all([RedisServer.start(), startTestPostgres()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.close()]);
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scratch(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

/** Runs `ystate ARGS` in `cwd` and expects it to succeed. */
async function ystate(cwd: string, ...args: string[]): Promise<string> {
  const result = await runCli(args, { cwd });
  expect(result.code, `ystate ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

async function redisSnapshot(docIds: readonly string[]): Promise<DocumentSnapshot[]> {
  const store = createRedisStore({ redis: redis.url });
  try {
    return await snapshot(store.log, docIds);
  } finally {
    await store.close();
  }
}

async function postgresSnapshot(docIds: readonly string[]): Promise<DocumentSnapshot[]> {
  const store = await createPostgresStore({ connectionString: postgres.connectionString });
  try {
    return await snapshot(store.log, docIds);
  } finally {
    await store.close();
  }
}

async function redisDocIds(): Promise<string[]> {
  const store = createRedisStore({ redis: redis.url });
  try {
    return (await store.log.docIds()).sort();
  } finally {
    await store.close();
  }
}

describe('ystate backup and restore', () => {
  it('round-trips file → Redis → PostgreSQL → file with identical history (entries, checkpoints, every state)', async () => {
    const cwd = await scratch();
    const docIds = await populate(join(cwd, 'source'), 'trip');
    const expected = await snapshotFileStore(join(cwd, 'source'), docIds);
    // The fixture is what the test claims: checkpoints, a lifecycle entry, encrypted entries.
    expect(expected[0]?.checkpoints.map((c) => c.seq)).toEqual([60, 40, 20]);
    expect(expected[0]?.entries.some((e) => e.kind === 'lifecycle')).toBe(true);
    expect(expected[2]?.entries.every((e) => e.keyId === 'k1' && e.flags === 3)).toBe(true);

    expect(await ystate(cwd, 'backup', '--data', 'source', '--out', 'one.ystate-backup')).toMatch(
      /wrote .*one\.ystate-backup: 3 documents, 68 entries, 3 checkpoints/,
    );
    expect(await ystate(cwd, 'restore', 'one.ystate-backup', '--redis', redis.url)).toMatch(
      /restored 3 documents, 68 entries, 3 checkpoints .* into redis at/,
    );
    expect(await redisSnapshot(docIds)).toEqual(expected);

    await ystate(cwd, 'backup', '--out', 'two.ystate-backup', '--docs', 'trip/**', '--redis', redis.url);
    await ystate(cwd, 'restore', 'two.ystate-backup', '--postgres', postgres.connectionString);
    expect(await postgresSnapshot(docIds)).toEqual(expected);

    // The store options come from the environment as for serve.
    const env = { YSTATE_POSTGRES: postgres.connectionString };
    expect((await runCli(['backup', '--out', 'three.ystate-backup'], { cwd, env })).code).toBe(0);
    await ystate(cwd, 'restore', 'three.ystate-backup', '--data', 'final');
    expect(await snapshotFileStore(join(cwd, 'final'), docIds)).toEqual(expected);
  });

  it('restores pruned history at its original seqs into the file store and PostgreSQL; Redis refuses it before writing', async () => {
    const cwd = await scratch();
    const docIds = await populate(join(cwd, 'source'), 'pruned', { retain: 10 });
    const expected = await snapshotFileStore(join(cwd, 'source'), docIds);
    expect(expected[0]?.entries[0]?.seq).toBe(41); // pruned to the checkpoint at 40
    await ystate(cwd, 'backup', '--data', 'source', '--out', 'pruned.ystate-backup');

    await ystate(cwd, 'restore', 'pruned.ystate-backup', '--data', 'copy');
    expect(await snapshotFileStore(join(cwd, 'copy'), docIds)).toEqual(expected);
    await ystate(cwd, 'restore', 'pruned.ystate-backup', '--postgres', postgres.connectionString);
    expect(await postgresSnapshot(docIds)).toEqual(expected);

    // PostgreSQL's restore itself: a document with history is refused, one pruned to nothing
    // gets its head from its checkpoint.
    const pg = await createPostgresStore({ connectionString: postgres.connectionString });
    const checkpoint = { ...(await pg.log.latestCheckpoint(docIds[0] as string))!, seq: 7 };
    await expect(pg.log.restore(docIds[1] as string, [], [checkpoint])).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_EXISTS,
    });
    await pg.log.restore('pruned/nothing-left', [], [checkpoint]);
    expect([await pg.log.head('pruned/nothing-left'), await pg.log.read('pruned/nothing-left')]).toEqual([
      7,
      [],
    ]);
    expect(await pg.log.latestCheckpoint('pruned/nothing-left')).toEqual(checkpoint);
    await pg.close();

    const before = await redisDocIds();
    const refused = await runCli(['restore', 'pruned.ystate-backup', '--redis', redis.url], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /"pruned\/projects\/1" was pruned before seq 41, and redis at .* can only restore history that starts at seq 1.*nothing was written/,
    );
    expect(await redisDocIds()).toEqual(before);
  });

  it('refuses corrupt and truncated archives with a clear error and writes nothing', async () => {
    const cwd = await scratch();
    await populate(join(cwd, 'source'), 'corrupt');
    await ystate(cwd, 'backup', '--data', 'source', '--out', 'good.ystate-backup');
    const bytes = await readFile(join(cwd, 'good.ystate-backup'));
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)] = (flipped[Math.floor(bytes.length / 2)] as number) ^ 0xff;
    await writeFile(join(cwd, 'flipped.ystate-backup'), flipped);
    await writeFile(join(cwd, 'cut.ystate-backup'), bytes.subarray(0, Math.floor(bytes.length * 0.7)));

    const flippedRun = await runCli(['restore', 'flipped.ystate-backup', '--data', 'target'], { cwd });
    expect(flippedRun.code).toBe(1);
    expect(flippedRun.stderr).toMatch(/ystate restore: corrupt archive: .*checksum.*; nothing was written/);
    const cut = await runCli(['restore', 'cut.ystate-backup', '--postgres', postgres.connectionString], {
      cwd,
    });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/corrupt archive: .*(incomplete|middle of a record).*; nothing was written/);
    const missing = await runCli(['restore', 'nowhere.ystate-backup', '--data', 'target'], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nowhere\.ystate-backup: no such file/);

    const target = await openFileLog({ dir: join(cwd, 'target') });
    expect(await target.docIds()).toEqual([]);
    await target.close();
    const store = await createPostgresStore({ connectionString: postgres.connectionString });
    expect((await store.log.docIds()).filter((id) => id.startsWith('corrupt/'))).toEqual([]);
    await store.close();

    // A store that already has the documents refuses the archive as a whole.
    await ystate(cwd, 'restore', 'good.ystate-backup', '--data', 'twice');
    const again = await runCli(['restore', 'good.ystate-backup', '--data', 'twice'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has history in the target store.*; nothing was written/);
    expect((await runCli(['restore'], { cwd })).code).toBe(2);
  });
});
