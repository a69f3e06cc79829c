/**
 * `ystate migrate --from KIND [SOURCE]`: imports Yjs documents from another store into a ystate
 * store — y-redis 1.x (`--redis URL`), y-websocket's LevelDB persistence (`y-leveldb DIR`), a
 * directory of state files (`files DIR`) or the rows of a SQL query (`postgres URL`, Hocuspocus's
 * `documents` table by default). Every source goes the same way: one entry per update (core's
 * `importDocument`), a checkpoint at the head, then the document is re-read from the target and
 * compared with the source (`verifyImport`).
 */

import { resolve } from 'node:path';
import { formatRoots, importDocument, stateAt, verifyImport } from '@ystate/core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { docPatternSchema, selectDocIds } from '../doc-pattern.js';
import { DEFAULT_QUERY, openFilesSource, openPostgresSource } from '../migrate/blob-sources.js';
import type { MigrationSource } from '../migrate/source.js';
import { openYLevelDbSource } from '../migrate/y-leveldb-source.js';
import { openYRedisSource } from '../migrate/y-redis-source.js';
import { nonEmptyString, STORE_OPTIONS, type StoreConfig, urlWithScheme, usageError } from '../options.js';
import { formatCount } from '../progress.js';
import type { RedisTarget } from '../store.js';

const SOURCES = ['y-redis', 'y-leveldb', 'files', 'postgres'] as const;
type SourceKind = (typeof SOURCES)[number];

const SPEC = {
  name: 'migrate',
  options: {
    from: {
      value: 'KIND',
      schema: z.enum(SOURCES, { message: `expected one of ${SOURCES.join(', ')}` }),
      fallback: undefined,
      help: 'what to import from: y-redis, y-leveldb DIR, files DIR, postgres URL',
    },
    redis: { ...STORE_OPTIONS.redis, help: 'with --from y-redis: the Redis y-redis wrote to' },
    'redis-cluster': {
      ...STORE_OPTIONS['redis-cluster'],
      help: 'with --from y-redis: the Redis Cluster y-redis wrote to, as comma-separated seed URLs',
    },
    query: {
      value: 'SQL',
      schema: nonEmptyString,
      fallback: undefined,
      help: `with --from postgres: a SELECT giving columns name (text) and data (bytea) (default: ${DEFAULT_QUERY})`,
    },
    docs: {
      value: 'PATTERN',
      schema: docPatternSchema,
      fallback: undefined,
      help: 'only documents whose name matches: projects/* (one segment), rooms/** (any depth)',
    },
    'to-data': {
      value: 'DIR',
      schema: nonEmptyString,
      fallback: undefined,
      path: true,
      help: 'import into the file log in DIR (default for y-leveldb and files: ./.ystate)',
    },
    'to-redis': {
      value: 'URL',
      schema: urlWithScheme(['redis:', 'rediss:']),
      fallback: undefined,
      help: 'import into Redis at URL, in the ystate layout (default for y-redis: the source Redis)',
    },
    'to-postgres': {
      value: 'URL',
      schema: urlWithScheme(['postgres:', 'postgresql:']),
      fallback: undefined,
      help: 'import into PostgreSQL at URL (default for postgres: the source database)',
    },
  },
  switches: {},
  positionals: { names: ['SOURCE'], required: 0 },
} as const;

const HELP: CommandHelp = {
  usage:
    'ystate migrate --from (y-redis (--redis URL | --redis-cluster URLS) | y-leveldb DIR | files DIR | postgres URL [--query SQL]) [--docs PATTERN] [--to-data DIR | --to-redis URL | --to-postgres URL]',
  description: [
    'Imports Yjs documents into a ystate store, one entry per update, in order, then a checkpoint at',
    'the head; each document is then re-read from the target (as a server loads it, and entry by',
    'entry) and compared with the source. Sources:',
    '  y-redis     y-redis 1.x documents (<name>:updates lists); docId = the y-redis name',
    "  y-leveldb   the LevelDB directory y-websocket's server persists to (YPERSISTENCE), written by",
    '              y-leveldb; docId = the document (room) name. Read only: nothing there changes',
    '  files       a directory with one Yjs state (Y.encodeStateAsUpdate) per file; docId = the path',
    '              below DIR without a .bin, .yjs or .ydoc ending',
    "  postgres    the rows of --query (default: Hocuspocus's database extension's table,",
    `              ${DEFAULT_QUERY}); docId = name, data = a Yjs state`,
    'The target is the store named by --to-*; by default the source server in the ystate layout',
    '(y-redis, postgres) or the file log in ./.ystate (y-leveldb, files). Stop the writers first:',
    'changes made during the import are not copied. Documents already imported (same number of',
    'entries) are skipped; exit 1 when a document failed or does not verify.',
  ],
  examples: [
    'ystate migrate --from y-redis --redis redis://127.0.0.1:6379',
    'ystate migrate --from y-leveldb ./dbDir --to-data ./.ystate',
    'ystate migrate --from files ./exported --docs "rooms/*" --to-redis redis://127.0.0.1:6379',
    'ystate migrate --from postgres postgres://app@db/hocuspocus --to-postgres postgres://app@db/ystate',
    'ystate migrate --from postgres postgres://db/app --query "SELECT doc_id AS name, state AS data FROM yjs_docs"',
  ],
};

type SourceConfig =
  | { kind: 'y-redis'; redis: RedisTarget }
  | { kind: 'y-leveldb' | 'files'; dir: string }
  | { kind: 'postgres'; url: string; query: string };

/** Runs `ystate migrate`. */
export function migrateCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      const kind = values.from;
      if (kind === undefined) throw usageError(`--from is required: one of ${SOURCES.join(', ')}`);
      const source = sourceConfig(kind, values, positionals[0], context.cwd);
      const targets = (['to-data', 'to-redis', 'to-postgres'] as const).filter(
        (key) => values[key] !== undefined,
      );
      if (targets.length > 1)
        throw usageError(`choose one target: ${targets.map((key) => `--${key}`).join(' and ')} were given`);
      const toSource = targets.length === 0;
      const target: StoreConfig = {
        data: values['to-data'] ?? resolve(context.cwd, '.ystate'),
        redis: values['to-redis'] ?? (toSource && source.kind === 'y-redis' ? values.redis : undefined),
        redisCluster: toSource && source.kind === 'y-redis' ? values['redis-cluster'] : undefined,
        postgres: values['to-postgres'] ?? (toSource && source.kind === 'postgres' ? source.url : undefined),
      };
      return { source, docs: values.docs, target };
    },
    async ({ source: config, docs, target }, io) => {
      const source = await openSource(config, io.logger);
      try {
        const store = await io.openStore(target, { role: 'operator' });
        const names = selectDocIds(await source.names(), docs);
        const progress = io.progress('migrate', { unit: 'documents', total: names.length });
        let imported = 0;
        let updates = 0;
        let skipped = 0;
        let failed = 0;
        const fail = (name: string, why: string) => {
          failed++;
          io.note(`ystate migrate: "${name}" ${why}`);
        };
        for (const [i, name] of names.entries()) {
          progress.update(i, name);
          const length = await source.count(name);
          const existing = await store.log.head(name);
          progress.finish();
          if (existing > 0) {
            if (existing === length) {
              skipped++;
              await io.print(`${name}: already imported (${formatCount(length)} entries), skipped`);
            } else {
              fail(
                name,
                `has ${formatCount(existing)} entries in ${store.description} but ${source.description} holds ${formatCount(length)} updates (a partial import, or another document of that name): remove it from the target and run again`,
              );
            }
            continue;
          }
          try {
            const result = await importDocument({
              log: store.log,
              docId: name,
              updates: source.updates(name),
              origin: source.kind,
              describe: (index) => source.describe(name, index),
            });
            const mismatch = await verifyImport(store.log, name, result.state);
            if (mismatch !== undefined) {
              fail(name, `does not verify: ${mismatch}`);
              continue;
            }
            imported++;
            updates += result.entries;
            const checkpoint =
              result.checkpointSeq === undefined
                ? ''
                : `, checkpoint at ${formatCount(result.checkpointSeq)}`;
            const { roots } = await stateAt(store.log, name, { seq: await store.log.head(name) });
            await io.print(
              `${name}: imported ${formatCount(result.entries)} updates${checkpoint}; roots: ${formatRoots(roots)}, verified`,
            );
          } catch (error) {
            fail(name, `failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        progress.finish();
        io.note(
          `migrated ${formatCount(imported)} documents (${formatCount(updates)} updates) from ${source.description} into ${store.description}` +
            (skipped > 0 ? `; ${skipped} already imported` : '') +
            (failed > 0 ? `; ${failed} failed` : ''),
        );
        if (names.length === 0)
          io.note(`ystate migrate: no documents${docs ? ` match ${docs}` : ''} in ${source.description}`);
        return failed > 0 ? 1 : undefined;
      } finally {
        await source.close();
      }
    },
  );
}

/** Checks that the flags fit the source kind. */
function sourceConfig(
  kind: SourceKind,
  values: {
    redis?: string | undefined;
    'redis-cluster'?: readonly string[] | undefined;
    query?: string | undefined;
  },
  positional: string | undefined,
  cwd: string,
): SourceConfig {
  if (kind !== 'postgres' && values.query !== undefined)
    throw usageError('--query goes with --from postgres');
  if (kind === 'y-redis') {
    if (positional !== undefined)
      throw usageError(
        `unexpected argument "${positional}": --from y-redis reads the Redis given by --redis`,
      );
    if (values.redis === undefined && values['redis-cluster'] === undefined)
      throw usageError(
        '--redis URL is required (the Redis y-redis wrote to; --redis-cluster URLS for a cluster)',
      );
    if (values.redis !== undefined && values['redis-cluster'] !== undefined)
      throw usageError('choose one source: --redis and --redis-cluster were both given');
    return { kind, redis: values.redis ?? { cluster: values['redis-cluster'] ?? [] } };
  }
  if (kind === 'postgres') {
    if (positional === undefined || !/^postgres(ql)?:\/\//.test(positional))
      throw usageError('--from postgres needs the database URL: ystate migrate --from postgres postgres://…');
    return { kind, url: positional, query: values.query ?? DEFAULT_QUERY };
  }
  if (positional === undefined)
    throw usageError(`--from ${kind} needs the directory: ystate migrate --from ${kind} DIR`);
  return { kind, dir: resolve(cwd, positional) };
}

function openSource(config: SourceConfig, logger: Logger): Promise<MigrationSource> {
  switch (config.kind) {
    case 'y-redis':
      return openYRedisSource(config.redis, logger);
    case 'y-leveldb':
      return openYLevelDbSource(config.dir);
    case 'files':
      return openFilesSource(config.dir);
    case 'postgres':
      return openPostgresSource(config.url, config.query);
  }
}
