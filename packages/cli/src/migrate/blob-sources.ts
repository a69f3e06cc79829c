/**
 * Sources that hold each document as one Yjs state blob (`Y.encodeStateAsUpdate`): a directory with
 * one file per document, or the rows of a SQL query (`name`, `data`), which is how Hocuspocus's
 * database extension stores documents (`documents(name, data)`). Each blob becomes one entry.
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ErrorCode, YStateError } from '@ystate/core';
import { redactUrl } from '../store.js';
import type { MigrationSource } from './source.js';

/** File name endings dropped from a docId: the usual names of a file holding one Yjs state. */
const STATE_FILE_SUFFIXES = ['.bin', '.yjs', '.ydoc'];

/** The query `--from postgres` runs by default: Hocuspocus's database extension's table. */
export const DEFAULT_QUERY = 'SELECT name, data FROM documents';

/**
 * Every file under `dir` (at any depth; names starting with a dot are skipped) is one document
 * whose docId is its path below `dir` with `/` separators, without a `.bin`, `.yjs` or `.ydoc` ending.
 */
export async function openFilesSource(dir: string): Promise<MigrationSource> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory())
    throw new YStateError({ code: ErrorCode.INVALID_CONFIG, message: `no directory at ${root}` });
  const files = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const below = relative(root, path).split(sep);
    if (!entry.isFile() || below.some((segment) => segment.startsWith('.'))) continue;
    const name = docIdOfFile(below.join('/'));
    const other = files.get(name);
    if (other !== undefined)
      throw new YStateError({
        code: ErrorCode.INVALID_CONFIG,
        message: `${other} and ${path} would both be document "${name}": keep one`,
      });
    files.set(name, path);
  }
  return {
    kind: 'files',
    description: `files in ${root}`,
    names: async () => [...files.keys()],
    count: async () => 1,
    async *updates(name) {
      yield [new Uint8Array(await readFile(files.get(name) as string))];
    },
    describe: (name) => `the file ${files.get(name)}`,
    close: async () => undefined,
  };
}

function docIdOfFile(path: string): string {
  const suffix = STATE_FILE_SUFFIXES.find((end) => path.endsWith(end) && path.length > end.length);
  return suffix === undefined ? path : path.slice(0, -suffix.length);
}

/**
 * The rows of `query` in the PostgreSQL database at `url`: column `name` (text) is the docId,
 * column `data` (bytea) a Yjs update; several rows of one name are applied in turn. The query is
 * used as a subquery, so any SELECT with those two columns works.
 */
export async function openPostgresSource(url: string, query: string): Promise<MigrationSource> {
  const { default: pg } = await import('pg');
  const shown = redactUrl(url);
  const client = new pg.Client({ connectionString: url });
  const rows = `(${query.trim().replace(/;$/, '')}) AS source`;
  try {
    await client.connect();
    // Checks the query and its columns once, before anything is imported.
    await client.query(`SELECT name::text, data FROM ${rows} LIMIT 0`);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `cannot read documents from PostgreSQL at ${shown} with "${query}": ${(error as Error).message}`,
      cause: error,
    });
  }
  const counts = new Map<string, number>();
  return {
    kind: 'postgres',
    description: `postgres at ${shown}`,
    async names() {
      const result = await client.query<{ name: string; count: string }>(
        `SELECT name::text AS name, count(*) AS count FROM ${rows} WHERE name IS NOT NULL GROUP BY 1`,
      );
      for (const row of result.rows) counts.set(row.name, Number(row.count));
      return [...counts.keys()];
    },
    count: async (name) => counts.get(name) ?? 0,
    async *updates(name) {
      const result = await client.query<{ data: unknown }>(`SELECT data FROM ${rows} WHERE name::text = $1`, [
        name,
      ]);
      yield result.rows.map((row, index) => {
        if (!(row.data instanceof Uint8Array))
          throw new YStateError({
            code: ErrorCode.INVALID_UPDATE,
            message: `row ${index} of "${name}": column data is ${row.data === null ? 'null' : typeof row.data}, not bytea`,
          });
        return new Uint8Array(row.data);
      });
    },
    describe: (name, index) => `row ${index} of "${name}"`,
    close: () => client.end(),
  };
}
