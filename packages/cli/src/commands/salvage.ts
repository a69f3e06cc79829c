/**
 * `ystate salvage <docId>... | --all [--dry-run] [--json]`: for file stores whose log went bad
 * before its tail (the document refuses to open with CORRUPT_ENTRY), keeps the valid prefix of the
 * log, reports what it dropped, and keeps a copy of the damaged file beside it.
 */

import type { SalvageReport } from '@ystate/file';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { STORE_OPTIONS, usageError } from '../options.js';
import { formatBytes, formatCount } from '../progress.js';

const SPEC = {
  name: 'salvage',
  options: { data: STORE_OPTIONS.data },
  switches: {
    all: { help: 'every document in the store' },
    'dry-run': { help: 'report what would be dropped, change nothing' },
    json: { help: 'print one JSON object per document' },
  },
  positionals: { names: ['<docId>'], required: 0, variadic: true },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate salvage <docId>... | --all [--dry-run] [--json] [--data DIR]',
  description: [
    "For the embedded file log only. Checks each document's log file and keeps its valid prefix: the",
    'whole records before the first damaged one. Everything after the damage is dropped (its seqs are',
    'given out again), and so are checkpoints beyond the new head; a copy of each file it changes is',
    'kept beside it as <file>.damaged-<time>. A document whose log is damaged before its tail refuses',
    'to open (CORRUPT_ENTRY) until it is salvaged. Stop the server first: the data directory is locked.',
    'Exits 1 when a document has no log or cannot be salvaged.',
  ],
  examples: [
    'ystate salvage projects/42 --dry-run',
    'ystate salvage projects/42 runs/7f3a --data /var/lib/ystate',
    'ystate salvage --all --json',
  ],
};

/** Runs `ystate salvage`. */
export function salvageCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, switches, positionals }) => {
      if ((positionals.length === 0) === !switches.all) {
        throw usageError(
          positionals.length === 0 ? 'name documents, or pass --all' : 'give documents or --all, not both',
        );
      }
      return {
        data: values.data,
        docIds: [...positionals],
        dryRun: switches['dry-run'],
        json: switches.json,
      };
    },
    async ({ data, docIds, dryRun, json }, io) => {
      const { FileUpdateLog } = await import('@ystate/file');
      const store = await io.openStore({ data, redis: undefined, postgres: undefined }, { existing: true });
      if (!(store.log instanceof FileUpdateLog)) throw new Error(`${store.description} is not a file log`);
      const log = store.log;
      const ids = docIds.length > 0 ? docIds : await log.docIds();
      const counts = { intact: 0, torn: 0, damaged: 0, missing: 0, failed: 0 };
      let droppedEntries = 0;
      for (const docId of ids) {
        let report: SalvageReport;
        try {
          report = await log.salvage(docId, { dryRun });
        } catch (error) {
          counts.failed += 1;
          io.note(`ystate salvage: ${docId}: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        counts[report.state] += 1;
        droppedEntries += report.droppedEntries;
        await io.print(json ? JSON.stringify(report) : describe(report));
      }
      if (docIds.length === 0 || ids.length > 1) {
        io.note(
          `${dryRun ? 'checked' : 'salvaged'} ${formatCount(ids.length)} documents in ${store.description}: ` +
            `${counts.damaged} damaged, ${counts.torn} torn, ${counts.intact} intact` +
            (counts.missing > 0 ? `, ${counts.missing} without a log` : '') +
            (counts.failed > 0 ? `, ${counts.failed} failed` : '') +
            `; ${dryRun ? 'would drop' : 'dropped'} ${formatCount(droppedEntries)} entries`,
        );
      }
      return counts.missing > 0 || counts.failed > 0 ? 1 : undefined;
    },
  );
}

/** One line per document: what it found, and what it dropped or would drop. */
function describe(report: SalvageReport): string {
  const { docId } = report;
  if (report.state === 'missing') return `${docId}: no log file`;
  if (report.state === 'intact' && report.droppedCheckpoints.length === 0) {
    return `${docId}: intact, ${formatCount(report.keptEntries)} entries (head ${formatCount(report.head)})`;
  }
  const verb = report.applied ? 'dropped' : 'would drop';
  const dropped = [
    report.state === 'damaged'
      ? `${formatCount(report.droppedEntries)} entries after the damage (seq ${formatCount(report.head + 1)}–${formatCount(report.head + report.droppedEntries)})`
      : undefined,
    report.droppedBytes > 0
      ? `${formatCount(report.droppedBytes)} bytes (${formatBytes(report.droppedBytes)})`
      : undefined,
    report.droppedCheckpoints.length > 0
      ? `checkpoints at ${report.droppedCheckpoints.map(formatCount).join(', ')}`
      : undefined,
  ].filter((part) => part !== undefined);
  const found =
    report.state === 'damaged'
      ? 'damaged before its tail'
      : report.state === 'torn'
        ? 'torn tail'
        : 'intact log';
  const copies = report.copies.length > 0 ? `; copies: ${report.copies.join(', ')}` : '';
  return `${docId}: ${found}: ${verb} ${dropped.join(', ')}; ${report.applied ? 'kept' : 'would keep'} ${formatCount(report.keptEntries)} entries (head ${formatCount(report.head)})${copies}`;
}
