/**
 * `ystate restore FILE`: loads a backup archive into the store with identical history. The whole
 * archive is verified before anything is written; documents that already have history are refused.
 */

import { resolve } from 'node:path';
import { readArchive, restoreArchive } from '@ystate/core/archive';
import { archiveSize, archiveSource } from '../archive-file.js';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { STORE_OPTIONS, storeConfigOf } from '../options.js';
import { formatBytes, formatCount, type Progress } from '../progress.js';

const SPEC = {
  name: 'restore',
  options: { ...STORE_OPTIONS },
  switches: {},
  positionals: { names: ['FILE'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate restore FILE [store options]',
  description: [
    'Restores a backup archive into the store: the same entries at the same seqs, and the same checkpoints,',
    'so replay gives the same states. The archive is verified completely (magic, version, every record',
    'checksum, the final SHA-256) before anything is written: a corrupt or truncated archive is refused',
    'and the store is left untouched. Documents that already have history in the store are refused too.',
    'History pruned before a checkpoint keeps its seqs in the file and PostgreSQL stores; Redis can only',
    'take history that starts at seq 1.',
  ],
  examples: [
    'ystate restore backup.ystate-backup --data ./restored',
    'ystate restore backup.ystate-backup --postgres postgres://ystate@db/ystate',
  ],
};

/** Runs `ystate restore`. */
export function restoreCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => ({ store: storeConfigOf(values), file: positionals[0] as string }),
    async ({ store: config, file }, io) => {
      const path = resolve(io.context.cwd, file);
      const size = await archiveSize(path);
      const store = await io.openStore(config, { role: 'operator' });
      const progress = io.progress('restore', { total: size, format: formatBytes });
      const restored: string[] = [];
      let opened = 0;
      try {
        // A store that can only append would refuse pruned history halfway: refuse it up front.
        if (!store.log.restore) await refusePrunedHistory(path, store.description, progress);
        // restoreArchive reads the archive twice: once to verify it all, then to write.
        const counts = await restoreArchive(
          () => {
            const phase = opened++ === 0 ? 'verifying' : 'writing';
            return archiveSource(path, (bytes) => progress.update(bytes, phase));
          },
          store.log,
          { onProgress: (p) => restored.push(p.docId) },
        );
        progress.finish();
        await io.print(
          `restored ${formatCount(counts.docs)} documents, ${formatCount(counts.entries)} entries, ` +
            `${formatCount(counts.checkpoints)} checkpoints from ${path} into ${store.description}`,
        );
      } catch (error) {
        progress.finish();
        const message = error instanceof Error ? error.message : String(error);
        // Verification happens on the first read; only the second one writes.
        if (opened < 2) throw new Error(`${message}; nothing was written`, { cause: error });
        if (restored.length === 0) {
          throw new Error(`${message}; the first document of the archive may be partly restored`, {
            cause: error,
          });
        }
        const shown = restored.slice(0, 5).map((docId) => JSON.stringify(docId));
        if (restored.length > 5) shown.push('…');
        throw new Error(
          `${message}; ${restored.length} documents were restored before the failure (${shown.join(', ')}), the next may be partly restored`,
          { cause: error },
        );
      }
      return undefined;
    },
  );
}

/** Reads (and so verifies) the archive; throws when a document's history does not start at seq 1. */
async function refusePrunedHistory(path: string, description: string, progress: Progress): Promise<void> {
  for await (const doc of readArchive(archiveSource(path, (bytes) => progress.update(bytes, 'verifying')))) {
    const first = doc.entries[0]?.seq ?? doc.head + 1;
    if (first !== 1) {
      throw new Error(
        `"${doc.docId}" was pruned before seq ${first}, and ${description} can only restore history that starts at seq 1 (restore into a file or PostgreSQL store)`,
      );
    }
  }
}
