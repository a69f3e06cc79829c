/**
 * `ystate compact <docId> | --all [--retain N]`: stores a checkpoint at the head of documents now
 * and, with `--retain N`, prunes all but the newest N entries (a checkpoint at the new start of
 * the history is stored first, so replay still works over every retained entry).
 */

import { buildCheckpoint, type NamedVersion, prunePoint, type UpdateLog } from '@ystate/core';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { STORE_OPTIONS, storeConfigOf, usageError, wholeNumber } from '../options.js';
import { formatCount } from '../progress.js';
import { decodingView, firstRetainedSeq } from '../retained.js';

const SPEC = {
  name: 'compact',
  options: {
    ...STORE_OPTIONS,
    retain: {
      value: 'N',
      schema: wholeNumber(0),
      fallback: undefined,
      help: 'prune all but the newest N entries (default: keep every entry, only checkpoint)',
    },
  },
  switches: { all: { help: 'every document in the store' } },
  positionals: { names: ['<docId>'], required: 0 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate compact <docId> | --all [--retain N] [store options]',
  description: [
    'Stores a checkpoint at the head of the document (or of every document with --all), built by',
    'applying its log to a fresh document, so loading it reads the checkpoint and nothing else. With',
    '--retain N it then prunes all but the newest N entries: it first stores a checkpoint at the entry',
    'before them, so replay and time travel keep working over every entry retained. Named versions pin',
    'their history: pruning stops at the oldest one (a checkpoint is stored at its seq), and the output',
    'names it; delete a version (`ystate versions <docId> --delete NAME`) to release it. Pruned history',
    'is gone for good: back up first.',
  ],
  examples: [
    'ystate compact projects/42',
    'ystate compact --all --retain 10000 --redis redis://127.0.0.1:6379',
  ],
};

/** Recorded as the origin of the checkpoints compact stores. */
const ORIGIN = 'ystate-compact';

/** What compact did to one document. */
interface Compacted {
  docId: string;
  head: number;
  /** Seqs of the checkpoints stored now. */
  stored: number[];
  pruned: number;
  retained: number;
  /** The named version that held pruning back, if any. */
  pinnedBy?: NamedVersion;
}

/** Runs `ystate compact`. */
export function compactCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, switches, positionals }) => {
      const docId = positionals[0];
      if ((docId === undefined) === !switches.all) {
        throw usageError(
          docId === undefined ? 'name a document, or pass --all' : 'give a document or --all, not both',
        );
      }
      return { store: storeConfigOf(values), docId, retain: values.retain };
    },
    async ({ store: config, docId, retain }, io) => {
      const store = await io.openStore(config, { role: 'operator', existing: true });
      const docIds = docId === undefined ? (await store.log.docIds()).sort() : [docId];
      if (docId !== undefined && (await store.log.head(docId)) === 0) {
        throw new Error(`"${docId}" has no history in ${store.description}`);
      }
      const progress = io.progress('compact', { unit: 'documents', total: docIds.length });
      let prunedTotal = 0;
      let done = 0;
      const failed: string[] = [];
      try {
        for (const [i, id] of docIds.entries()) {
          progress.update(i, id);
          let result: Compacted;
          try {
            result = await compactDocument(store.log, id, retain);
          } catch (error) {
            // One document's failure (say, entries encrypted with a key the CLI lacks) does not
            // keep --all from compacting the others.
            if (docId !== undefined) throw error;
            failed.push(id);
            progress.finish();
            io.note(`ystate compact: ${id}: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
          done++;
          prunedTotal += result.pruned;
          progress.finish();
          await io.print(describe(result));
        }
      } finally {
        progress.finish();
      }
      if (docId === undefined) {
        io.note(
          `compacted ${formatCount(done)} documents in ${store.description}; pruned ${formatCount(prunedTotal)} entries` +
            (failed.length > 0 ? `; ${failed.length} failed` : ''),
        );
      }
      return failed.length > 0 ? 1 : undefined;
    },
  );
}

async function compactDocument(
  log: UpdateLog,
  docId: string,
  retain: number | undefined,
): Promise<Compacted> {
  const head = await log.head(docId);
  const first = await firstRetainedSeq(log, docId, head);
  const result: Compacted = { docId, head, stored: [], pruned: 0, retained: head - first + 1 };
  if (head === 0) return result;
  await checkpointAt(log, docId, head, result);
  if (retain === undefined) return result;
  // Entries base+1 … head stay; the checkpoint at base is where replaying them starts.
  const base = head - retain;
  if (base < first) return result;
  if (base >= 1) await checkpointAt(log, docId, base, result);
  // Named versions pin their history: stop at the oldest, with a checkpoint at its seq.
  const view = decodingView(log);
  let point = await prunePoint(view, docId, base + 1);
  const pin = point.pinnedBy;
  if (pin !== undefined && pin.seq >= Math.max(first, 1) && point.seq < pin.seq) {
    await checkpointAt(log, docId, pin.seq, result);
    point = await prunePoint(view, docId, base + 1);
  }
  if (point.pinnedBy !== undefined) result.pinnedBy = point.pinnedBy;
  if (point.seq <= first) return result;
  await log.prune(docId, point.seq);
  result.pruned = point.seq - first;
  result.retained = head - point.seq + 1;
  return result;
}

/** Stores a checkpoint at `seq` unless there is one; checks that the store kept it. */
async function checkpointAt(log: UpdateLog, docId: string, seq: number, result: Compacted): Promise<void> {
  if ((await log.latestCheckpoint(docId, seq))?.seq === seq) return;
  // Built from decoded entries (compressed payloads inflated): a checkpoint is a plain Yjs update.
  const checkpoint = await buildCheckpoint(decodingView(log), docId, seq, ORIGIN);
  await log.storeCheckpoint(docId, checkpoint);
  // Pruning relies on it: make sure it is there (a store may decline, as Redis does under a lease).
  if ((await log.latestCheckpoint(docId, seq))?.seq !== seq) {
    throw new Error(`the store did not keep the checkpoint of "${docId}" at seq ${seq}; nothing was pruned`);
  }
  result.stored.push(seq);
}

function describe(result: Compacted): string {
  const parts = [
    result.stored.length === 0
      ? `checkpoint at the head (${formatCount(result.head)}) already there`
      : `checkpoint${result.stored.length > 1 ? 's' : ''} at ${listOf(result.stored.map(formatCount))}`,
  ];
  if (result.pruned > 0) parts.push(`pruned ${formatCount(result.pruned)} entries`);
  parts.push(`${formatCount(result.retained)} retained`);
  if (result.pinnedBy !== undefined) {
    parts.push(
      `history from seq ${formatCount(result.pinnedBy.seq)} kept for version "${result.pinnedBy.name}"`,
    );
  }
  return `${result.docId}: ${parts.join(', ')}`;
}

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
