/**
 * `ystate replay <docId> [--to SEQ|TIME] [--from SEQ] [--step]`: a document's JSON state at a
 * point of its history, or each entry with the JSON Patch it made, as JSON lines.
 */

import { replay, stateAt } from '@ystate/core';
import { z } from 'zod';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { STORE_OPTIONS, storeConfigOf, usageError, wholeNumber } from '../options.js';
import { decodingView, firstRetainedSeq, headOf } from '../retained.js';

/** `--to`: a seq, or a time (ISO 8601, or ms since the epoch as 13 digits). */
const pointSchema = z
  .string()
  .trim()
  .transform((text, context): { seq: number } | { time: number } => {
    if (/^\d{1,12}$/.test(text)) return { seq: Number(text) };
    const time = /^\d{13,}$/.test(text) ? Number(text) : Date.parse(text);
    if (Number.isNaN(time)) {
      context.addIssue({ code: 'custom', message: 'expected a seq (42) or a time (2025-01-31T12:00:00Z)' });
      return z.NEVER;
    }
    return { time };
  });

const SPEC = {
  name: 'replay',
  options: {
    ...STORE_OPTIONS,
    to: {
      value: 'SEQ|TIME',
      schema: pointSchema,
      fallback: undefined,
      help: 'up to this seq, or the last entry written at or before this time (default: the head)',
    },
    from: {
      value: 'SEQ',
      schema: wholeNumber(1),
      fallback: undefined,
      help: 'with --step: the first entry to show (default: the first one retained)',
    },
  },
  switches: {
    step: { help: 'print each entry (seq, time, origin, kind, patch, lifecycle event) as a JSON line' },
  },
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate replay <docId> [--to SEQ|TIME] [--step [--from SEQ]] [store options]',
  description: [
    "Rebuilds a document from its log. Without --step, prints the document's JSON as it was after entry",
    '--to (a seq, or the last entry at or before a time; default the head). With --step, prints one JSON',
    'line per entry — {"seq","time","origin","kind","patch","event"?}, time in ms since the epoch, patch the',
    'RFC 6902 JSON Patch the entry made — the same items as GET /api/docs/<docId>/history.',
  ],
  examples: [
    'ystate replay projects/42',
    'ystate replay projects/42 --to 120',
    'ystate replay projects/42 --to 2025-01-31T12:00:00Z --redis redis://127.0.0.1:6379',
    'ystate replay projects/42 --step --from 100 --to 120 | jq -c .patch',
  ],
};

/** Runs `ystate replay`. */
export function replayCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, switches, positionals }) => {
      if (values.from !== undefined && !switches.step) throw usageError('--from needs --step');
      return {
        store: storeConfigOf(values),
        docId: positionals[0] as string,
        to: values.to,
        from: values.from,
        step: switches.step,
      };
    },
    async ({ store: config, docId, to, from, step }, io) => {
      const store = await io.openStore(config, { readOnly: true });
      const log = decodingView(store.log);
      const head = await headOf(log, docId, store.description);
      if (to !== undefined && 'seq' in to && to.seq > head) {
        throw new Error(`seq ${to.seq} is beyond the head of "${docId}" (${head})`);
      }
      if (!step) {
        const state = await stateAt(log, docId, to ?? { seq: head });
        io.note(`"${docId}" at seq ${state.seq} of ${head}`);
        await io.print(JSON.stringify(state.json, null, 2));
        return undefined;
      }
      const retained = await firstRetainedSeq(log, docId, head);
      if (from !== undefined && from < retained) {
        throw new Error(
          `seq ${from} of "${docId}" was pruned: its retained history starts at seq ${retained} (see \`ystate inspect ${docId}\`)`,
        );
      }
      const first = from ?? retained;
      const last = to !== undefined && 'seq' in to ? to.seq : head;
      const until = to !== undefined && 'time' in to ? to.time : Number.POSITIVE_INFINITY;
      for await (const entry of replay(log, docId, { from: first, to: last })) {
        // Entry times do not decrease, so the first one after the time ends the replay.
        if (entry.time > until) break;
        await io.print(JSON.stringify(entry));
      }
      return undefined;
    },
  );
}
