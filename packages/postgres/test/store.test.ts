import { randomBytes } from 'node:crypto';
import { Engine, EntryFlags, type EntryInput, ErrorCode, type LogEntry } from '@ystate/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  channelName,
  createPostgresStore,
  MIGRATIONS,
  type PostgresStore,
  PostgresUpdateLog,
  SCHEMA_VERSION,
  storeTables,
} from '../src/index.js';
import { eventually, range, storeFactory, uniqueSchema, usePostgres, within } from './helpers.js';

const postgres = usePostgres();
const openStore = storeFactory(postgres);
const text = new TextEncoder();
const decoder = new TextDecoder();

function marked(marker: string, size = 0): EntryInput {
  const payload = new Uint8Array(Math.max(size, marker.length));
  payload.set(text.encode(marker));
  return { kind: 'update', time: Date.now(), origin: marker.split('/')[0] ?? '', flags: 0, payload };
}

function markerOf(entry: LogEntry): string {
  return decoder.decode(entry.payload).split('\u0000')[0] ?? '';
}

async function query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: postgres().connectionString });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Collects what a bus delivers for one document, and waits for a count. */
async function collect(store: PostgresStore, docId: string) {
  const got: LogEntry[] = [];
  await store.bus.subscribe(docId, (entries) => got.push(...entries));
  return {
    got,
    waitFor: (count: number) => eventually(() => got.length >= count, 5000, `${count} entries of ${docId}`),
  };
}

describe('seq assignment', () => {
  for (const isolation of ['read committed', 'serializable']) {
    it(`gives concurrent appenders on four nodes (pools) dense, distinct seqs, each batch contiguous (${isolation})`, async () => {
      const schema = uniqueSchema('nodes');
      // Under SERIALIZABLE, appends that collide on the head row fail with 40001 and are tried again.
      const pool = { max: 3, options: `-c default_transaction_isolation=${isolation.replace(' ', '\\ ')}` };
      const nodes = await Promise.all(range(0, 3).map(() => openStore({ schema, pool })));
      const [setting] = await nodes[0]!.pool
        .query<{ transaction_isolation: string }>('SHOW transaction_isolation')
        .then((r) => r.rows);
      expect(setting?.transaction_isolation).toBe(isolation);
      const docs = ['shared', 'shared/2', 'other'];
      const batches = range(0, 79).map((b) => ({
        node: b % nodes.length,
        docId: docs[b % 7 === 0 ? 2 : b % 2]!,
        entries: range(0, b % 4).map((i) => marked(`n${b % nodes.length}/b${b}/i${i}`)),
      }));
      const results = await Promise.all(
        batches.map(({ node, docId, entries }) => nodes[node]!.log.append(docId, entries)),
      );
      for (const docId of docs) {
        const mine = batches.flatMap((batch, b) =>
          batch.docId === docId ? [{ batch, result: results[b]! }] : [],
        );
        const total = mine.reduce((sum, { batch }) => sum + batch.entries.length, 0);
        expect(
          mine.flatMap(({ result }) => result.map((entry) => entry.seq)).sort((x, y) => x - y),
          `seqs of ${docId}`,
        ).toEqual(range(1, total));
        // Every node sees the same log: what each append was told is exactly what is stored there.
        const read = await nodes[3]!.log.read(docId);
        expect(read.map((entry) => entry.seq)).toEqual(range(1, total));
        const bySeq = new Map(read.map((entry) => [entry.seq, markerOf(entry)]));
        for (const { batch, result } of mine) {
          expect(result.map((entry) => entry.seq)).toEqual(
            range(result[0]!.seq, result[0]!.seq + result.length - 1),
          );
          result.forEach((entry, i) => {
            expect(bySeq.get(entry.seq)).toBe(markerOf({ ...entry, payload: batch.entries[i]!.payload }));
          });
        }
        expect(await nodes[1]!.log.head(docId)).toBe(total);
      }
    });
  }

  it('keeps numbering exact across prune: head stays, base records where the log starts', async () => {
    const store = await openStore({ schema: uniqueSchema('prune') });
    await store.log.append(
      'doc',
      range(1, 6).map((i) => marked(`p/${i}`)),
    );
    await store.log.prune('doc', 4);
    await store.log.prune('doc', 2);
    expect((await store.log.read('doc')).map((entry) => entry.seq)).toEqual([4, 5, 6]);
    expect((await store.log.append('doc', [marked('p/7')]))[0]?.seq).toBe(7);
    const [row] = await query<{ head: string; base: string }>(
      `SELECT head, base FROM ${store.log.tables.heads} WHERE doc_id = $1`,
      ['doc'],
    );
    expect(row).toEqual({ head: '7', base: '4' });
  });
});

describe('migrations', () => {
  it('apply each version once under concurrent first starts, creating the schema', async () => {
    const schema = uniqueSchema('migrate');
    const stores = await Promise.all(range(1, 6).map(() => openStore({ schema, pool: { max: 1 } })));
    const reports = stores.map((store) => store.migrations);
    expect(reports.filter((report) => report.applied.length > 0)).toEqual([
      { applied: MIGRATIONS.map((migration) => migration.version), version: SCHEMA_VERSION },
    ]);
    expect(reports.every((report) => report.version === SCHEMA_VERSION)).toBe(true);
    const rows = await query<{ version: number }>(
      `SELECT version FROM ${storeTables(schema).migrations} ORDER BY version`,
    );
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    // Every node works on the result, and a later start has nothing to do.
    await Promise.all(stores.map((store, i) => store.log.append('doc', [marked(`m/${i}`)])));
    expect(await stores[0]!.log.head('doc')).toBe(6);
    expect((await openStore({ schema })).migrations.applied).toEqual([]);
  });

  it('refuses a schema newer than this code, and checks instead of migrating with migrate: false', async () => {
    const schema = uniqueSchema('newer');
    await expect(openStore({ schema, migrate: false })).rejects.toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
    });
    await openStore({ schema });
    const checked = await openStore({ schema, migrate: false });
    expect(checked.migrations).toEqual({ applied: [], version: SCHEMA_VERSION });
    await query(
      `INSERT INTO ${storeTables(schema).migrations} (version, name) VALUES ($1, 'from the future')`,
      [SCHEMA_VERSION + 1],
    );
    await expect(openStore({ schema })).rejects.toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
      message: expect.stringContaining('upgrade this node'),
    });
  });

  it('keeps stores with different prefixes in one schema apart', async () => {
    const schema = uniqueSchema('prefixes');
    const [one, two] = await Promise.all([
      openStore({ schema, tablePrefix: 'one_' }),
      openStore({ schema, tablePrefix: 'two_' }),
    ]);
    await one!.log.append('doc', [marked('one/1'), marked('one/2')]);
    const heard = await collect(two!, 'doc');
    await one!.log.append('doc', [marked('one/3')]);
    await two!.log.append('doc', [marked('two/1')]);
    await heard.waitFor(1);
    expect(heard.got.map(markerOf)).toEqual(['two/1']);
    expect(await two!.log.head('doc')).toBe(1);
    expect(await one!.log.head('doc')).toBe(3);
  });
});

describe('notifications', () => {
  it('an append notifies other nodes in its transaction: small entries inline, large ones as a seq range read from the table', async () => {
    const schema = uniqueSchema('notify');
    const writer = await openStore({ schema });
    const reader = await openStore({ schema });
    expect(writer.log.publishesAppends).toBe(true);
    // A raw LISTEN on the document's channel shows what travels.
    const raw = new pg.Client({ connectionString: postgres().connectionString });
    await raw.connect();
    const payloads: string[] = [];
    raw.on('notification', (message) => payloads.push(message.payload ?? ''));
    await raw.query(`LISTEN ${pg.escapeIdentifier(channelName(writer.log.tables, 'entries', 'doc'))}`);
    try {
      const heard = await collect(reader, 'doc');
      const small = [marked('w/1'), marked('w/2')];
      const large = [marked('w/3', 20_000), marked('w/4')];
      await writer.log.append('doc', small);
      await writer.log.append('doc', large);
      await heard.waitFor(4);
      expect(heard.got.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
      expect(heard.got.map((entry) => Array.from(entry.payload))).toEqual(
        [...small, ...large].map((entry) => Array.from(entry.payload)),
      );
      await eventually(() => payloads.length >= 2, 5000, 'raw notifications');
      expect(payloads[0]).toMatch(/^a:1:/);
      expect(payloads[1]).toBe('r:3:4');
    } finally {
      await raw.end();
    }
  });

  it('appendMany gives each document its seqs and its notification, as its own append would', async () => {
    const schema = uniqueSchema('many');
    const writer = await openStore({ schema });
    const reader = await openStore({ schema });
    const heard = await Promise.all(['a', 'b', 'c'].map((docId) => collect(reader, docId)));
    await writer.log.append('b', [marked('b/0')]);
    const results = await writer.log.appendMany([
      { docId: 'a', entries: [marked('a/1'), marked('a/2')] },
      { docId: 'b', entries: [marked('b/1', 20_000)] },
      { docId: 'c', entries: [marked('c/1')] },
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.map((e) => e.seq) : r.reason))).toEqual([
      [1, 2],
      [2],
      [1],
    ]);
    await Promise.all(heard.map((h, i) => h.waitFor([2, 2, 1][i] as number)));
    expect(heard.map((h) => h.got.map((e) => `${e.seq}:${markerOf(e)}`))).toEqual([
      ['1:a/1', '2:a/2'],
      ['1:b/0', '2:b/1'],
      ['1:c/1'],
    ]);
  });

  it('appendMany: when PostgreSQL refuses one document, the others still go, each on its own', async () => {
    const schema = uniqueSchema('many_refused');
    const writer = await openStore({ schema });
    // A stray row at seq 1 of "b" makes the shared statement fail on the primary key.
    await query(
      `INSERT INTO ${writer.log.tables.entries} (doc_id, seq, time_ms, kind, origin, flags, payload) VALUES ('b', 1, 0, 'update', '', 0, '')`,
    );
    const results = await writer.log.appendMany([
      { docId: 'a', entries: [marked('a/1')] },
      { docId: 'b', entries: [marked('b/1')] },
      { docId: 'c', entries: [marked('c/1')] },
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.STORAGE_FAILED });
    expect((await writer.log.read('a')).map(markerOf)).toEqual(['a/1']);
    expect((await writer.log.read('c')).map(markerOf)).toEqual(['c/1']);
    expect(await writer.log.head('b')).toBe(0);
  });

  it('does not notify appends that rolled back', async () => {
    const schema = uniqueSchema('rollback');
    const writer = await openStore({ schema });
    const reader = await openStore({ schema });
    const heard = await collect(reader, 'doc');
    // A stray row at seq 2 makes the next batch (seqs 1..2) fail on the primary key.
    await query(
      `INSERT INTO ${writer.log.tables.entries} (doc_id, seq, time_ms, kind, origin, flags, payload) VALUES ('doc', 2, 0, 'update', '', 0, '')`,
    );
    await expect(writer.log.append('doc', [marked('r/1'), marked('r/2')])).rejects.toMatchObject({
      code: ErrorCode.STORAGE_FAILED,
    });
    expect(await writer.log.head('doc')).toBe(0);
    await query(`DELETE FROM ${writer.log.tables.entries} WHERE doc_id = 'doc'`);
    await writer.log.append('doc', [marked('r/3')]);
    await heard.waitFor(1);
    expect(heard.got.map(markerOf)).toEqual(['r/3']);
  });

  it('signals reach the other nodes, not the sender, small or spilled', async () => {
    const schema = uniqueSchema('signals');
    const [a, b, c] = await Promise.all([
      openStore({ schema }),
      openStore({ schema }),
      openStore({ schema }),
    ]);
    const got: Record<string, number[][]> = { a: [], b: [], c: [] };
    await a!.bus.onSignal!('doc', (message) => got.a!.push(Array.from(message)));
    await b!.bus.onSignal!('doc', (message) => got.b!.push(Array.from(message)));
    const stop = await c!.bus.onSignal!('doc', (message) => got.c!.push(Array.from(message)));
    const small = Uint8Array.of(1, 2, 3);
    const large = new Uint8Array(randomBytes(12_000));
    await a!.bus.signal!('doc', small);
    await a!.bus.signal!('doc', large);
    await a!.bus.signal!('other', Uint8Array.of(9));
    await eventually(() => got.b!.length >= 2 && got.c!.length >= 2, 5000, 'signals');
    for (const node of ['b', 'c']) expect(got[node]).toEqual([Array.from(small), Array.from(large)]);
    await stop();
    await b!.bus.signal!('doc', Uint8Array.of(4));
    await eventually(() => got.a!.length >= 1, 5000, 'signal back to a');
    // Barrier: b's signal reached a; c unsubscribed, and a never hears itself.
    expect(got.a).toEqual([[4]]);
    expect(got.c).toHaveLength(2);
  });

  it('codecs: payloads are stored encrypted and compressed, and read and delivered as plaintext', async () => {
    const schema = uniqueSchema('codecs');
    const codecs = {
      compression: { thresholdBytes: 16 },
      encryption: { keys: { k1: new Uint8Array(randomBytes(32)) }, currentKeyId: 'k1' },
    };
    const writer = await openStore({ schema, codecs });
    const reader = await openStore({ schema, codecs });
    const heard = await collect(reader, 'doc');
    const entries = [marked('c/1', 400), marked('c/2', 9000)];
    const appended = await writer.log.append('doc', entries);
    expect(appended.map((entry) => [entry.seq, entry.flags])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    await heard.waitFor(2);
    const [stored] = await query<{ flags: number; key_id: string; payload: Buffer }>(
      `SELECT flags, key_id, payload FROM ${writer.log.tables.entries} WHERE doc_id = 'doc' AND seq = 1`,
    );
    expect(stored!.flags & EntryFlags.encrypted).toBeTruthy();
    expect(stored!.key_id).toBe('k1');
    expect(stored!.payload.includes(Buffer.from('c/1'))).toBe(false);
    for (const got of [heard.got, await reader.log.read('doc')]) {
      expect(got.map((entry) => [entry.seq, entry.flags, Array.from(entry.payload)])).toEqual(
        entries.map((entry, i) => [i + 1, 0, Array.from(entry.payload)]),
      );
    }
  });
});

describe('the LISTEN connection', () => {
  it('comes back after the server ends it, calls onReconnect, and an engine catches up on what it missed', async () => {
    const schema = uniqueSchema('reconnect');
    const writer = await openStore({ schema, applicationName: 'ys-writer' });
    const reader = await openStore({ schema, applicationName: 'ys-reader', minReconnectDelayMs: 300 });
    let reconnects = 0;
    reader.bus.onReconnect(() => reconnects++);
    const engine = new Engine({ log: reader.log, bus: reader.bus, nodeId: 'reader', idleTimeoutMs: 60_000 });
    const author = new Engine({ log: writer.log, nodeId: 'writer', idleTimeoutMs: 60_000 });
    const write = (n: number) => author.write('doc', (tx) => tx.set(`/k${n}`, n));
    try {
      await engine.open('doc');
      await write(1);
      await eventually(() => engine.seqOf('doc') === 1, 5000, 'first entry');
      expect(reader.bus.listening).toBe(true);

      const ended = await query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = 'ys-reader-listen'`,
      );
      expect(ended).toEqual([{ ended: true }]);
      await eventually(() => !reader.bus.listening, 5000, 'the reader to notice');
      // Written while nobody listens for the reader: only the catch-up on reconnect brings it.
      await write(2);
      await write(3);
      await eventually(() => reconnects === 1, 5000, 'onReconnect');
      expect(reader.bus.listening).toBe(true);
      await eventually(() => engine.seqOf('doc') === 3, 5000, 'catch-up after reconnect');
      // And the channel is listened to again: the next append arrives over the bus.
      await write(4);
      await eventually(() => engine.seqOf('doc') === 4, 5000, 'delivery after reconnect');
      expect(await engine.get('doc')).toEqual({ k1: 1, k2: 2, k3: 3, k4: 4 });
    } finally {
      await engine.close();
      await author.close();
    }
  });
});

describe('errors', () => {
  it('refuses bad names, NUL characters and a bad notify size with clear codes', async () => {
    const connectionString = postgres().connectionString;
    for (const options of [
      { schema: 'no-dashes' },
      { tablePrefix: '1x' },
      { tablePrefix: 'x'.repeat(60) },
      { maxNotifyBytes: 9000 },
      { readPageSize: -1 },
      { codecs: { encryption: { keys: { k: new Uint8Array(3) }, currentKeyId: 'k' } } },
    ]) {
      await expect(createPostgresStore({ connectionString, ...options })).rejects.toMatchObject({
        code: ErrorCode.INVALID_CONFIG,
      });
    }
    const store = await openStore({ schema: uniqueSchema('nul') });
    await expect(store.log.append('a\u0000b', [marked('n/1')])).rejects.toMatchObject({
      code: ErrorCode.INVALID_VALUE,
    });
    await expect(store.log.append('doc', [{ ...marked('n/1'), origin: 'x\u0000' }])).rejects.toMatchObject({
      code: ErrorCode.INVALID_VALUE,
    });
    expect(await store.log.docIds()).toEqual([]);
  });

  it('reports an unreachable server as LOG_UNAVAILABLE', async () => {
    const start = createPostgresStore({
      connectionString: 'postgresql://postgres@127.0.0.1:1/postgres',
      pool: { connectionTimeoutMillis: 2000 },
    });
    await expect(within(start, 'start', 10_000)).rejects.toMatchObject({ code: ErrorCode.LOG_UNAVAILABLE });
  });

  it('appendMany: an unreachable server fails every batch of the round with LOG_UNAVAILABLE, with no second try alone', async () => {
    // A second try could append a round that committed before the connection died: it must not happen.
    const pool = new pg.Pool({
      connectionString: 'postgresql://postgres@127.0.0.1:1/postgres',
      connectionTimeoutMillis: 2000,
    });
    let statements = 0;
    const query = pool.query.bind(pool);
    pool.query = ((...args: Parameters<typeof pool.query>) => {
      statements++;
      return query(...args);
    }) as typeof pool.query;
    const log = new PostgresUpdateLog({ pool });
    try {
      const results = await log.appendMany([
        { docId: 'a', entries: [marked('a/1')] },
        { docId: 'b', entries: [marked('b/1')] },
      ]);
      expect(results.map((r) => (r.status === 'rejected' ? r.reason.code : r.status))).toEqual([
        ErrorCode.LOG_UNAVAILABLE,
        ErrorCode.LOG_UNAVAILABLE,
      ]);
      expect(statements).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('rejects calls on a closed store with DOCUMENT_CLOSED', async () => {
    const store = await openStore({ schema: uniqueSchema('closed') });
    await store.close();
    await expect(store.log.append('doc', [marked('z/1')])).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_CLOSED,
    });
    await expect(store.bus.subscribe('doc', () => undefined)).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_CLOSED,
    });
    await expect(store.close()).resolves.toBeUndefined();
  });
});
