/**
 * `ystate backup --out FILE [--docs PATTERN]`: writes a backup archive of the store's documents
 * (as stored: encrypted entries stay encrypted) atomically, with progress on stderr.
 */

import { writeArchiveFile } from '../archive-file.js';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { docPatternSchema } from '../doc-pattern.js';
import { envValue, nonEmptyString, STORE_OPTIONS, storeConfigOf, usageError } from '../options.js';
import { formatBytes, formatCount } from '../progress.js';

const SPEC = {
  name: 'backup',
  options: {
    ...STORE_OPTIONS,
    out: {
      value: 'FILE',
      schema: nonEmptyString,
      fallback: undefined,
      path: true,
      help: 'the archive to write (an existing file is replaced, atomically)',
    },
    docs: {
      value: 'PATTERN',
      schema: docPatternSchema,
      fallback: undefined,
      help: 'only documents whose id matches: projects/* (one segment), runs/** (any depth)',
    },
  },
  switches: {},
  positionals: { names: [], required: 0 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate backup --out FILE [--docs PATTERN] [store options]',
  description: [
    'Writes a backup archive (versioned, checksummed; see docs/backup.md) of the documents in the store:',
    'their entries and checkpoints exactly as stored, so encrypted entries stay encrypted. The archive is',
    'written to a hidden temp file beside FILE and renamed into place once complete and fsynced: an',
    'interrupted backup leaves no archive. The file store can only be backed up while no server has it',
    'open; use `ystate serve --backup-every` for a running server.',
  ],
  examples: [
    'ystate backup --out backup.ystate-backup',
    'ystate backup --redis redis://127.0.0.1:6379 --docs "projects/**" --out projects.ystate-backup',
    'YSTATE_POSTGRES=postgres://ystate@db/ystate ystate backup --out /backups/$(date +%F).ystate-backup',
  ],
};

/**
 * Pauses after each document, for tests that kill a backup halfway; honoured only when
 * NODE_ENV is `test`.
 */
const TEST_DELAY_VARIABLE = 'YSTATE_TEST_BACKUP_DELAY_MS';

/** Runs `ystate backup`. */
export function backupCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values }) => {
      if (values.out === undefined) throw usageError('--out FILE is required (where the archive goes)');
      const delay =
        context.env.NODE_ENV === 'test' ? Number(envValue(context.env, TEST_DELAY_VARIABLE) ?? 0) : 0;
      return { store: storeConfigOf(values), out: values.out, docs: values.docs, delay };
    },
    async ({ store: config, out, docs, delay }, io) => {
      const store = await io.openStore(config, { existing: true });
      const progress = io.progress('backup', { unit: 'entries' });
      const controller = new AbortController();
      io.context.signals((signal) =>
        controller.abort(new Error(`stopped by ${signal}: no archive was written`)),
      );
      try {
        const result = await writeArchiveFile(store.log, out, {
          ...(docs === undefined ? {} : { docs }),
          signal: controller.signal,
          ...(delay > 0 ? { delayPerDocumentMs: delay } : {}),
          onProgress: (p) => {
            progress.setTotal(p.totalEntries);
            progress.update(p.entries, `${p.docs}/${p.totalDocs} documents, ${formatBytes(p.bytes)}`);
          },
        });
        progress.finish();
        if (result.docs === 0)
          io.note(`ystate backup: no documents${docs ? ` match ${docs}` : ''} in ${store.description}`);
        await io.print(
          `wrote ${out}: ${formatCount(result.docs)} documents, ${formatCount(result.entries)} entries, ` +
            `${formatCount(result.checkpoints)} checkpoints, ${formatBytes(result.bytes)} (from ${store.description})`,
        );
      } finally {
        progress.finish();
      }
      return undefined;
    },
  );
}
