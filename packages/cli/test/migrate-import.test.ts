/**
 * `ystate migrate --from y-leveldb | files | postgres` through the built binary: documents written
 * by the real `y-leveldb` 0.2.0 (as y-websocket's server persists them), Yjs state files, and a
 * Hocuspocus-style `documents(name, data)` table in a real PostgreSQL spawned for the test. After
 * each import every document is read back from the ystate store and compared with the source's.
 */

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UpdateLog } from '@ystate/core';
import { loadInto } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { createPostgresStore } from '@ystate/postgres';
import { startTestPostgres, type TestPostgres } from '@ystate/postgres/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeveldbPersistence, PREFERRED_TRIM_SIZE } from 'y-leveldb';
import * as Y from 'yjs';
import { assertBuilt, runCli, tempDir } from './cli-process.js';

let cwd: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  assertBuilt();
  ({ path: cwd, remove: removeDir } = await tempDir());
});
afterAll(async () => {
  await removeDir?.();
});

function ystate(...args: string[]) {
  return runCli(args, { cwd });
}

/** A document edited the way collaborative apps edit: a map, an array, a text, with deletions. */
function editedDoc(name: string, rounds: number, onUpdate?: (update: Uint8Array) => void): Y.Doc {
  const ydoc = new Y.Doc();
  if (onUpdate) ydoc.on('update', onUpdate);
  const state = ydoc.getMap('state');
  const text = ydoc.getText('body');
  ydoc.transact(() => {
    state.set('title', name);
    state.set('items', new Y.Array<number>());
  });
  for (let i = 0; i < rounds; i++) {
    ydoc.transact(() => {
      (state.get('items') as Y.Array<number>).push([i]);
      text.insert(text.length, `${name} line ${i}\n`);
      if (i % 3 === 2) text.delete(0, 4);
      state.set('count', i);
    });
  }
  return ydoc;
}

/** Reads `docId` from a ystate log as a server loads it and expects the same state as `source`. */
async function expectSameDocument(log: UpdateLog, docId: string, source: Y.Doc): Promise<void> {
  const loaded = new Y.Doc();
  await loadInto(log, docId, loaded);
  expect(loaded.getMap('state').toJSON(), docId).toEqual(source.getMap('state').toJSON());
  expect(loaded.getText('body').toString(), docId).toBe(source.getText('body').toString());
  expect(Y.encodeStateVector(loaded), docId).toEqual(Y.encodeStateVector(source));
  expect(Y.equalSnapshots(Y.snapshot(loaded), Y.snapshot(source)), docId).toBe(true);
  loaded.destroy();
}

async function withFileLog(dir: string, body: (log: UpdateLog) => Promise<void>): Promise<void> {
  const log = await openFileLog({ dir: join(cwd, dir), readOnly: true });
  try {
    await body(log);
  } finally {
    await log.close();
  }
}

/** A migrate line without the roots it names (the sources' documents hold maps and texts alike). */
function withoutRoots(out: string): string {
  return out.replace(/; roots: [^\n]*?, verified/g, ', verified');
}

describe('ystate migrate --from y-leveldb', () => {
  const written = new Map<string, Y.Doc>();
  let dbDir: string;

  beforeAll(async () => {
    dbDir = join(cwd, 'y-websocket-db');
    // As y-websocket's server persists documents (utils.js `bindState`): every update is stored.
    const persistence = new LeveldbPersistence(dbDir);
    const stored: Promise<unknown>[] = [];
    for (const [name, rounds] of [
      ['rooms/a', 40],
      ['rooms/b', 5],
      ['lobby', PREFERRED_TRIM_SIZE + 20],
    ] as const) {
      const ydoc = editedDoc(name, rounds, (update) => stored.push(persistence.storeUpdate(name, update)));
      written.set(name, ydoc);
    }
    await Promise.all(stored);
    // Loading a document of more than PREFERRED_TRIM_SIZE updates makes y-leveldb merge them into
    // one; later edits are stored beside it again.
    (await persistence.getYDoc('lobby')).destroy();
    (written.get('lobby') as Y.Doc).getText('body').insert(0, 'after the merge ');
    await Promise.all(stored);
    await persistence.setMeta('rooms/a', 'owner', 'ada');
    await persistence.destroy();
  });

  it('imports every document into the file log, one entry per stored update, and verifies each', async () => {
    const migrate = await ystate(
      'migrate',
      '--from',
      'y-leveldb',
      'y-websocket-db',
      '--to-data',
      'from-leveldb',
    );
    expect(migrate.code, migrate.stderr).toBe(0);
    const lines = withoutRoots(migrate.stdout).trim().split('\n').sort();
    expect(lines).toHaveLength(3);
    // The merged lobby holds 2 updates (the merge, then the later edit); the others one per transaction.
    expect(lines[0]).toBe('lobby: imported 2 updates, checkpoint at 2, verified');
    expect(lines[1]).toBe('rooms/a: imported 41 updates, checkpoint at 41, verified');
    expect(lines[2]).toBe('rooms/b: imported 6 updates, checkpoint at 6, verified');
    expect(migrate.stderr).toMatch(
      /migrated 3 documents \(49 updates\) from y-leveldb at .*y-websocket-db into file log in/,
    );

    await withFileLog('from-leveldb', async (log) => {
      expect((await log.docIds()).sort()).toEqual(['lobby', 'rooms/a', 'rooms/b']);
      for (const [name, ydoc] of written) await expectSameDocument(log, name, ydoc);
    });
    // The source is read, never written: y-leveldb still has every document as it was.
    const persistence = new LeveldbPersistence(dbDir);
    for (const [name, ydoc] of written) {
      const reread = await persistence.getYDoc(name);
      expect(reread.getText('body').toString()).toBe(ydoc.getText('body').toString());
      reread.destroy();
    }
    expect(await persistence.getMeta('rooms/a', 'owner')).toBe('ada');

    // While a y-websocket server (here: y-leveldb in this process) holds the database, it is refused.
    const locked = await ystate('migrate', '--from', 'y-leveldb', 'y-websocket-db', '--to-data', 'elsewhere');
    await persistence.destroy();
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/another process has it open: stop the y-websocket server first/);
    expect(existsSync(join(cwd, 'elsewhere'))).toBe(false);

    // A second run skips what is there.
    const again = await ystate(
      'migrate',
      '--from',
      'y-leveldb',
      'y-websocket-db',
      '--to-data',
      'from-leveldb',
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^rooms\/a: already imported \(41 entries\), skipped$/m);
  });

  it('refuses a directory with no LevelDB database and creates nothing there', async () => {
    const missing = await ystate('migrate', '--from', 'y-leveldb', 'no-such-db', '--to-data', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read y-leveldb at .*no-such-db: no LevelDB database there/);
    expect(existsSync(join(cwd, 'no-such-db'))).toBe(false);
  });
});

describe('ystate migrate --from files', () => {
  it('imports one Yjs state per file, docId from the path, and reports a file that is not a Yjs state', async () => {
    const docs = new Map([
      ['rooms/one', editedDoc('rooms/one', 7)],
      ['rooms/two', editedDoc('rooms/two', 3)],
      ['notes', editedDoc('notes', 2)],
    ]);
    await mkdir(join(cwd, 'blobs/rooms'), { recursive: true });
    await writeFile(join(cwd, 'blobs/rooms/one.bin'), Y.encodeStateAsUpdate(docs.get('rooms/one') as Y.Doc));
    await writeFile(join(cwd, 'blobs/rooms/two.yjs'), Y.encodeStateAsUpdate(docs.get('rooms/two') as Y.Doc));
    await writeFile(join(cwd, 'blobs/notes'), Y.encodeStateAsUpdate(docs.get('notes') as Y.Doc));
    await writeFile(join(cwd, 'blobs/rooms/broken.bin'), new Uint8Array(12).fill(0xff));
    await writeFile(join(cwd, 'blobs/.DS_Store'), 'not a document');

    const migrate = await ystate(
      'migrate',
      '--from',
      'files',
      'blobs',
      '--docs',
      'rooms/*',
      '--to-data',
      'from-files',
    );
    expect(migrate.code).toBe(1);
    expect(withoutRoots(migrate.stdout)).toBe(
      'rooms/one: imported 1 updates, checkpoint at 1, verified\nrooms/two: imported 1 updates, checkpoint at 1, verified\n',
    );
    expect(migrate.stderr).toMatch(/"rooms\/broken" failed: the file .*broken\.bin is not a Yjs update/);
    expect(migrate.stderr).toMatch(
      /migrated 2 documents \(2 updates\) from files in .*blobs into file log in .*; 1 failed/,
    );

    const all = await ystate(
      'migrate',
      '--from',
      'files',
      'blobs',
      '--docs',
      'notes',
      '--to-data',
      'from-files',
    );
    expect(all.code, all.stderr).toBe(0);
    await withFileLog('from-files', async (log) => {
      // Nothing of the broken file reached the store.
      expect((await log.docIds()).sort()).toEqual(['notes', 'rooms/one', 'rooms/two']);
      for (const [name, ydoc] of docs) await expectSameDocument(log, name, ydoc);
    });
  });
});

describe('ystate migrate --from postgres (a Hocuspocus database extension table)', () => {
  let postgres: TestPostgres;
  const docs = new Map<string, Y.Doc>();

  beforeAll(async () => {
    postgres = await startTestPostgres();
    const client = new pg.Client({ connectionString: postgres.connectionString });
    await client.connect();
    // The schema and upsert of Hocuspocus's SQLite extension, in PostgreSQL (data: a Yjs state).
    await client.query(
      'CREATE TABLE documents (name varchar(255) NOT NULL, data bytea NOT NULL, UNIQUE(name))',
    );
    for (const [name, rounds] of [
      ['board/1', 9],
      ['board/2', 4],
      ['chat', 12],
    ] as const) {
      const ydoc = editedDoc(name, rounds);
      docs.set(name, ydoc);
      await client.query(
        'INSERT INTO documents (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = $2',
        [name, Buffer.from(Y.encodeStateAsUpdate(ydoc))],
      );
    }
    await client.query('CREATE TABLE other_docs (id text, state bytea)');
    await client.query('INSERT INTO other_docs VALUES ($1, $2)', [
      'custom',
      Buffer.from(Y.encodeStateAsUpdate(docs.get('chat') as Y.Doc)),
    ]);
    await client.end();
  }, 120_000);
  afterAll(async () => {
    await postgres?.close();
  });

  it('imports the documents table into the same database by default, and into a file log', async () => {
    const url = postgres.connectionString;
    const same = await ystate('migrate', '--from', 'postgres', url);
    expect(same.code, same.stderr).toBe(0);
    expect(withoutRoots(same.stdout).trim().split('\n')).toEqual([
      'board/1: imported 1 updates, checkpoint at 1, verified',
      'board/2: imported 1 updates, checkpoint at 1, verified',
      'chat: imported 1 updates, checkpoint at 1, verified',
    ]);
    const store = await createPostgresStore({ connectionString: url });
    try {
      for (const [name, ydoc] of docs) await expectSameDocument(store.log, name, ydoc);
    } finally {
      await store.close();
    }

    const custom = await ystate(
      'migrate',
      '--from',
      'postgres',
      url,
      '--query',
      'SELECT id AS name, state AS data FROM other_docs;',
      '--to-data',
      'from-sql',
    );
    expect(custom.code, custom.stderr).toBe(0);
    expect(withoutRoots(custom.stdout)).toBe('custom: imported 1 updates, checkpoint at 1, verified\n');
    await withFileLog('from-sql', async (log) => {
      await expectSameDocument(log, 'custom', docs.get('chat') as Y.Doc);
    });
  });

  it('refuses a query without name and data columns before importing anything', async () => {
    const bad = await ystate(
      'migrate',
      '--from',
      'postgres',
      postgres.connectionString,
      '--query',
      'SELECT id FROM other_docs',
      '--to-data',
      'bad-sql',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /cannot read documents from PostgreSQL at .* with "SELECT id FROM other_docs": column "name" does not exist/,
    );
    expect(existsSync(join(cwd, 'bad-sql'))).toBe(false);
  });
});

describe('ystate migrate usage', () => {
  it('--help names every source and its flags', async () => {
    const help = await ystate('migrate', '--help');
    expect(help.code).toBe(0);
    for (const text of [
      'y-leveldb DIR',
      'files DIR',
      'postgres URL [--query SQL]',
      '--query SQL',
      'compared with the source',
      'YPERSISTENCE',
    ])
      expect(help.stdout).toContain(text);
  });

  it('refuses a source without its argument, and flags of another source, with exit 2', async () => {
    const noDir = await ystate('migrate', '--from', 'y-leveldb');
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/--from y-leveldb needs the directory/);
    const query = await ystate('migrate', '--from', 'files', 'blobs', '--query', 'SELECT 1');
    expect(query.code).toBe(2);
    expect(query.stderr).toMatch(/--query goes with --from postgres/);
    const unknown = await ystate('migrate', '--from', 'mongodb', 'x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/expected one of y-redis, y-leveldb, files, postgres/);
  });
});
