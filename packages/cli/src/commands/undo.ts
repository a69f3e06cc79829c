/** `ystate undo <docId> --run ID | --origin ID [--from SEQ] [--to SEQ]`: undoes one run's or origin's changes. */

import type { UndoSelection } from '@ystate/core';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { nonEmptyString, STORE_OPTIONS, storeConfigOf, usageError, wholeNumber } from '../options.js';
import { headOf } from '../retained.js';
import { CLI_ORIGIN, withEngine } from '../version-commands.js';

const SPEC = {
  name: 'undo',
  options: {
    ...STORE_OPTIONS,
    run: {
      value: 'ID',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'the run id of an agent run (AG-UI runId)',
    },
    origin: {
      value: 'ID',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'undo the entries of this origin instead',
    },
    from: {
      value: 'SEQ',
      schema: wholeNumber(1),
      fallback: undefined,
      help: 'with --origin: the first seq (default 1)',
    },
    to: {
      value: 'SEQ',
      schema: wholeNumber(1),
      fallback: undefined,
      help: 'with --origin: the last seq (default: the head)',
    },
    as: {
      value: 'ORIGIN',
      schema: nonEmptyString,
      fallback: CLI_ORIGIN,
      help: `who the log records as undoing (default ${CLI_ORIGIN})`,
    },
  },
  switches: {},
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate undo <docId> (--run ID | --origin ID [--from SEQ] [--to SEQ]) [--as ORIGIN] [store options]',
  description: [
    'Undoes the changes of one agent run (by its run id) or of one origin between two seqs, keeping everyone',
    "else's later changes, with Yjs's undo semantics (docs/versions.md has examples). Writes one update and",
    'the lifecycle event ystate.version.undone; prints {"seq","updateSeq","origin","from","to","entries"}.',
    'Writes through the store, as `ystate revert` does (or use POST /api/docs/<docId>/undo).',
  ],
  examples: [
    'ystate undo projects/42 --run 7f3a-run',
    'ystate undo projects/42 --origin importer --from 120 --to 180 --as alice',
  ],
};

/** Runs `ystate undo`. */
export function undoCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      let selection: UndoSelection;
      if (values.run !== undefined) {
        if (values.origin !== undefined || values.from !== undefined || values.to !== undefined) {
          throw usageError('give --run, or --origin with --from/--to, not both');
        }
        selection = { run: values.run };
      } else if (values.origin !== undefined) {
        selection = { origin: values.origin, from: values.from, to: values.to };
      } else {
        throw usageError('name what to undo: --run ID or --origin ID');
      }
      return { store: storeConfigOf(values), docId: positionals[0] as string, selection, origin: values.as };
    },
    async ({ store: config, docId, selection, origin }, io) => {
      const store = await io.openStore(config, { existing: true });
      await headOf(store.log, docId, store.description);
      const result = await withEngine(store, (engine) => engine.undo(docId, selection, { origin }));
      await io.print(JSON.stringify(result));
      return undefined;
    },
  );
}
