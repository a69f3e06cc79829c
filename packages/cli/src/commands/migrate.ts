/**
 * `ystate migrate --from y-redis (--redis URL | --redis-cluster URLS) [--docs PATTERN] [--to-data DIR |
 * --to-redis URL | --to-postgres URL]`: imports y-redis 1.x documents (`<name>:updates` lists) into a ystate store,
 * one entry per y-redis update and a checkpoint at the head (`importYRedisDocument`).
 */

import { formatRoots, stateAt } from '@ystate/core';
import { z } from 'zod';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { docPatternSchema, selectDocIds } from '../doc-pattern.js';
import { nonEmptyString, STORE_OPTIONS, type StoreConfig, urlWithScheme, usageError } from '../options.js';
import { formatCount } from '../progress.js';
import { connectRedis, type RedisTarget, redisAddress } from '../store.js';

const SOURCES = ['y-redis'] as const;

const SPEC = {
  name: 'migrate',
  options: {
    from: {
      value: 'KIND',
      schema: z.string().refine((kind) => (SOURCES as readonly string[]).includes(kind), {
        message:
          'only y-redis is supported (y-websocket-leveldb would need a native LevelDB binding; see docs/cli.md)',
      }),
      fallback: undefined,
      help: 'what to import from: y-redis (y-redis 1.x documents)',
    },
    redis: { ...STORE_OPTIONS.redis, help: 'the Redis y-redis wrote to (the source)' },
    'redis-cluster': {
      ...STORE_OPTIONS['redis-cluster'],
      help: 'the Redis Cluster y-redis wrote to (the source), as comma-separated seed URLs',
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
      help: 'import into the file log in DIR',
    },
    'to-redis': {
      value: 'URL',
      schema: urlWithScheme(['redis:', 'rediss:']),
      fallback: undefined,
      help: 'import into Redis at URL, in the ystate layout (default: the source Redis)',
    },
    'to-postgres': {
      value: 'URL',
      schema: urlWithScheme(['postgres:', 'postgresql:']),
      fallback: undefined,
      help: 'import into PostgreSQL at URL',
    },
  },
  switches: {},
  positionals: { names: [], required: 0 },
} as const;

const HELP: CommandHelp = {
  usage:
    'ystate migrate --from y-redis (--redis URL | --redis-cluster URLS) [--docs PATTERN] [--to-data DIR | --to-redis URL | --to-postgres URL]',
  description: [
    'Imports y-redis 1.x documents (found by scanning for <name>:updates keys) into a ystate store: one',
    'entry per y-redis update, in order, then a checkpoint at the head. The ystate docId is the y-redis',
    'name. The target is the store named by --to-*, by default the same Redis (or Redis Cluster) in the',
    'ystate layout. The',
    'y-redis keys are left as they are. Stop the y-redis writers first: updates pushed during the',
    'import are not copied. Documents already imported (same number of entries) are skipped.',
  ],
  examples: [
    'ystate migrate --from y-redis --redis redis://127.0.0.1:6379',
    'ystate migrate --from y-redis --redis redis://old:6379 --docs "rooms/*" --to-postgres postgres://db/ystate',
  ],
};

/** Runs `ystate migrate`. */
export function migrateCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values }) => {
      if (values.from === undefined) throw usageError('--from is required: --from y-redis');
      if (values.redis === undefined && values['redis-cluster'] === undefined)
        throw usageError(
          '--redis URL is required (the Redis y-redis wrote to; --redis-cluster URLS for a cluster)',
        );
      if (values.redis !== undefined && values['redis-cluster'] !== undefined)
        throw usageError('choose one source: --redis and --redis-cluster were both given');
      const source: RedisTarget = values.redis ?? { cluster: values['redis-cluster'] ?? [] };
      const toSource = values['to-data'] === undefined && values['to-postgres'] === undefined;
      const targets = (['to-data', 'to-redis', 'to-postgres'] as const).filter(
        (key) => values[key] !== undefined,
      );
      if (targets.length > 1)
        throw usageError(`choose one target: ${targets.map((key) => `--${key}`).join(' and ')} were given`);
      const target: StoreConfig = {
        // Only used with --to-data.
        data: values['to-data'] ?? context.cwd,
        redis: toSource ? (values['to-redis'] ?? values.redis) : undefined,
        redisCluster: toSource && values['to-redis'] === undefined ? values['redis-cluster'] : undefined,
        postgres: values['to-postgres'],
      };
      return { source, docs: values.docs, target };
    },
    async ({ source: from, docs, target }, io) => {
      const { importYRedisDocument } = await import('@ystate/redis');
      const source = await connectRedis(from, io.logger, { layout: 'y-redis' });
      try {
        const store = await io.openStore(target, { role: 'operator' });
        const names = selectDocIds(await source.log.docIds(), docs);
        const progress = io.progress('migrate', { unit: 'documents', total: names.length });
        let imported = 0;
        let updates = 0;
        const skipped: string[] = [];
        const failed: string[] = [];
        for (const [i, name] of names.entries()) {
          progress.update(i, name);
          const length = await source.log.head(name);
          const existing = await store.log.head(name);
          progress.finish();
          if (existing > 0) {
            if (existing === length) {
              skipped.push(name);
              await io.print(`${name}: already imported (${formatCount(length)} entries), skipped`);
            } else {
              failed.push(name);
              io.note(
                `ystate migrate: "${name}" has ${formatCount(existing)} entries in ${store.description} but y-redis holds ${formatCount(length)} updates (a partial import, or another document of that name): remove it from the target and run again`,
              );
            }
            continue;
          }
          try {
            const result = await importYRedisDocument({ redis: source.redis, name, log: store.log });
            imported++;
            updates += result.entries;
            const checkpoint =
              result.checkpointSeq === undefined
                ? ''
                : `, checkpoint at ${formatCount(result.checkpointSeq)}`;
            const { roots } = await stateAt(store.log, name, { seq: await store.log.head(name) });
            await io.print(
              `${name}: imported ${formatCount(result.entries)} updates${checkpoint}; roots: ${formatRoots(roots)}`,
            );
          } catch (error) {
            failed.push(name);
            io.note(
              `ystate migrate: "${name}" failed: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        }
        progress.finish();
        io.note(
          `migrated ${formatCount(imported)} documents (${formatCount(updates)} updates) from y-redis at ${redisAddress(from)} into ${store.description}` +
            (skipped.length > 0 ? `; ${skipped.length} already imported` : '') +
            (failed.length > 0 ? `; ${failed.length} failed` : ''),
        );
        if (names.length === 0)
          io.note(
            `ystate migrate: no y-redis documents${docs ? ` match ${docs}` : ''} at ${redisAddress(from)}`,
          );
        return failed.length > 0 ? 1 : undefined;
      } finally {
        await source.close();
      }
    },
  );
}
