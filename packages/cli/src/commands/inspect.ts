/**
 * `ystate inspect <docId> [--json]`: what a document's log holds — seq range, entries by kind,
 * payload sizes, checkpoints, last writers — read as stored (sizes are stored sizes).
 */

import type { EntryKind, LogEntry, RootSummary, UpdateLog } from '@ystate/core';
import { EntryFlags, formatRoots, stateAt } from '@ystate/core';
import { type CliContext, type CommandHelp, type CommandIo, runCommand } from '../command.js';
import { STORE_OPTIONS, storeConfigOf } from '../options.js';
import { formatBytes, formatCount } from '../progress.js';
import { firstRetainedSeq, headOf } from '../retained.js';

const SPEC = {
  name: 'inspect',
  options: { ...STORE_OPTIONS },
  switches: { json: { help: 'print the report as one JSON object' } },
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate inspect <docId> [--json] [store options]',
  description: [
    "Reports what a document's log holds: the seq range (first retained entry, head), entries by kind,",
    'total and average payload sizes as stored, compressed and encrypted entries, the time range, the',
    'checkpoints, and the last writers (origins with their entry counts and last writes).',
  ],
  examples: [
    'ystate inspect projects/42',
    'ystate inspect projects/42 --json --postgres postgres://db/ystate',
  ],
};

/** How many writers the table lists (the JSON lists all). */
const WRITERS_SHOWN = 10;
const READ_CHUNK = 1000;

/** The report `--json` prints. */
export interface InspectReport {
  docId: string;
  store: string;
  head: number;
  /** The first seq the log still holds (head + 1 when everything was pruned). */
  firstRetained: number;
  retained: number;
  pruned: number;
  kinds: Partial<Record<EntryKind, { entries: number; payloadBytes: number }>>;
  payloadBytes: number;
  averagePayloadBytes: number;
  compressed: number;
  encrypted: { entries: number; keyIds: string[] };
  firstTime: string | undefined;
  lastTime: string | undefined;
  checkpoints: { seq: number; time: string; origin: string; payloadBytes: number }[];
  writers: { origin: string; entries: number; lastSeq: number; lastTime: string }[];
  /** The root types the document holds at its head, with their kind and JSON path. */
  roots: RootSummary[];
}

/** Runs `ystate inspect`. */
export function inspectCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, switches, positionals }) => ({
      store: storeConfigOf(values),
      docId: positionals[0] as string,
      json: switches.json,
    }),
    async ({ store: config, docId, json }, io) => {
      const store = await io.openStore(config, { readOnly: true });
      const report = await inspect(store.log, docId, store.description, io);
      await io.print(json ? JSON.stringify(report, null, 2) : formatReport(report));
      return undefined;
    },
  );
}

async function inspect(
  log: UpdateLog,
  docId: string,
  description: string,
  io: CommandIo,
): Promise<InspectReport> {
  const head = await headOf(log, docId, description);
  const first = await firstRetainedSeq(log, docId, head);
  const kinds: InspectReport['kinds'] = {};
  const writers = new Map<string, { entries: number; lastSeq: number; lastTime: number }>();
  const keyIds = new Set<string>();
  let payloadBytes = 0;
  let compressed = 0;
  let encrypted = 0;
  let firstTime: number | undefined;
  let lastTime: number | undefined;
  let count = 0;
  const progress = io.progress('inspect', { unit: 'entries', total: head - first + 1 });
  try {
    for (let from = first; from <= head; ) {
      const entries = await log.read(docId, { from, to: Math.min(head, from + READ_CHUNK - 1) });
      if (entries.length === 0) break;
      for (const entry of entries) {
        const kind = kinds[entry.kind] ?? { entries: 0, payloadBytes: 0 };
        kinds[entry.kind] = kind;
        kind.entries++;
        kind.payloadBytes += entry.payload.length;
        payloadBytes += entry.payload.length;
        if (entry.flags & EntryFlags.compressed) compressed++;
        if (entry.flags & EntryFlags.encrypted) {
          encrypted++;
          keyIds.add(entry.keyId ?? '');
        }
        firstTime ??= entry.time;
        lastTime = entry.time;
        const writer = writers.get(entry.origin) ?? { entries: 0, lastSeq: 0, lastTime: 0 };
        writer.entries++;
        writer.lastSeq = entry.seq;
        writer.lastTime = entry.time;
        writers.set(entry.origin, writer);
      }
      count += entries.length;
      progress.update(count);
      from = (entries[entries.length - 1] as LogEntry).seq + 1;
    }
  } finally {
    progress.finish();
  }
  const checkpoints: InspectReport['checkpoints'] = [];
  for (let checkpoint = await log.latestCheckpoint(docId); checkpoint; ) {
    checkpoints.push({
      seq: checkpoint.seq,
      time: new Date(checkpoint.time).toISOString(),
      origin: checkpoint.origin,
      payloadBytes: checkpoint.payload.length,
    });
    checkpoint = checkpoint.seq > 0 ? await log.latestCheckpoint(docId, checkpoint.seq - 1) : undefined;
  }
  checkpoints.reverse();
  const roots = await rootsAt(log, docId, head);
  return {
    docId,
    store: description,
    head,
    firstRetained: first,
    retained: count,
    pruned: first - 1,
    kinds,
    payloadBytes,
    averagePayloadBytes: count === 0 ? 0 : Math.round(payloadBytes / count),
    compressed,
    encrypted: { entries: encrypted, keyIds: [...keyIds].sort() },
    firstTime: firstTime === undefined ? undefined : new Date(firstTime).toISOString(),
    lastTime: lastTime === undefined ? undefined : new Date(lastTime).toISOString(),
    checkpoints,
    writers: [...writers]
      .map(([origin, writer]) => ({
        origin,
        entries: writer.entries,
        lastSeq: writer.lastSeq,
        lastTime: new Date(writer.lastTime).toISOString(),
      }))
      .sort((a, b) => b.lastSeq - a.lastSeq),
    roots,
  };
}

/** The root types at `seq` (none when nothing is retained to rebuild from). */
async function rootsAt(log: UpdateLog, docId: string, seq: number): Promise<RootSummary[]> {
  if (seq === 0) return [];
  // A log pruned past every checkpoint cannot be rebuilt: the rest of the report still stands.
  const state = await stateAt(log, docId, { seq }).catch(() => undefined);
  return state?.roots ?? [];
}

function formatReport(report: InspectReport): string {
  const lines: string[] = [];
  const retained =
    report.retained === 0
      ? 'none retained'
      : `${formatCount(report.firstRetained)} … ${formatCount(report.head)}`;
  const pruned = report.pruned === 0 ? 'none pruned' : `${formatCount(report.pruned)} pruned`;
  lines.push(
    ...table([
      ['document', report.docId],
      ['store', report.store],
      [
        'seqs',
        `${retained} (head ${formatCount(report.head)}; ${formatCount(report.retained)} retained, ${pruned})`,
      ],
      ['times', report.firstTime === undefined ? '—' : `${report.firstTime} … ${report.lastTime}`],
      ['roots', formatRoots(report.roots)],
    ]),
    '',
  );
  const kindRows: string[][] = Object.entries(report.kinds).map(([kind, stats]) => [
    kind,
    formatCount(stats.entries),
    formatBytes(stats.payloadBytes),
    formatBytes(Math.round(stats.payloadBytes / stats.entries)),
  ]);
  kindRows.push([
    'total',
    formatCount(report.retained),
    formatBytes(report.payloadBytes),
    formatBytes(report.averagePayloadBytes),
  ]);
  lines.push(...table([['kind', 'entries', 'payload', 'average'], ...kindRows], { right: [1, 2, 3] }));
  const codecs: string[] = [];
  if (report.compressed > 0) codecs.push(`${formatCount(report.compressed)} compressed`);
  if (report.encrypted.entries > 0) {
    codecs.push(
      `${formatCount(report.encrypted.entries)} encrypted (keys ${report.encrypted.keyIds.join(', ')})`,
    );
  }
  if (codecs.length > 0) lines.push(`payloads: ${codecs.join(', ')}`);
  lines.push('', `checkpoints: ${report.checkpoints.length === 0 ? 'none' : report.checkpoints.length}`);
  if (report.checkpoints.length > 0) {
    lines.push(
      ...table(
        [
          ['seq', 'time', 'size', 'origin'],
          ...report.checkpoints.map((c) => [
            formatCount(c.seq),
            c.time,
            formatBytes(c.payloadBytes),
            c.origin,
          ]),
        ],
        { right: [0, 2], indent: '  ' },
      ),
    );
  }
  const shown = report.writers.slice(0, WRITERS_SHOWN);
  const more = report.writers.length - shown.length;
  const writersTitle =
    more > 0 ? `last writers (newest ${WRITERS_SHOWN} of ${report.writers.length}):` : 'last writers:';
  lines.push('', shown.length === 0 ? `${writersTitle} none` : writersTitle);
  if (shown.length > 0) {
    lines.push(
      ...table(
        [
          ['origin', 'entries', 'last seq', 'last write'],
          ...shown.map((w) => [w.origin, formatCount(w.entries), formatCount(w.lastSeq), w.lastTime]),
        ],
        { right: [1, 2], indent: '  ' },
      ),
    );
  }
  return lines.join('\n');
}

/** Rows as aligned columns; `right` lists the columns aligned right (numbers). */
function table(
  rows: readonly (readonly string[])[],
  options: { right?: readonly number[]; indent?: string } = {},
): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    `${options.indent ?? ''}${row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        if (i === row.length - 1 && !options.right?.includes(i)) return cell;
        return options.right?.includes(i) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')}`.trimEnd(),
  );
}
