/** `ystate revert <docId> --to POINT [--as ORIGIN]`: makes a document what it was at a point, as a new entry. */

import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { nonEmptyString, STORE_OPTIONS, storeConfigOf, usageError } from '../options.js';
import { headOf } from '../retained.js';
import { CLI_ORIGIN, versionPointSchema, withEngine } from '../version-commands.js';

const SPEC = {
  name: 'revert',
  options: {
    ...STORE_OPTIONS,
    to: {
      value: 'POINT',
      schema: versionPointSchema,
      fallback: undefined,
      help: 'a seq, a time or a version name',
    },
    as: {
      value: 'ORIGIN',
      schema: nonEmptyString,
      fallback: CLI_ORIGIN,
      help: `who the log records as reverting (default ${CLI_ORIGIN})`,
    },
  },
  switches: {},
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate revert <docId> --to POINT [--as ORIGIN] [store options]',
  description: [
    "Makes the document's JSON what it was at --to (a seq, a time or a version name) by new CRDT operations,",
    'written as one entry that records the lifecycle event ystate.version.reverted; history is kept. Prints',
    '{"seq","to"}: the seq of the revert and the seq it went back to. Writes through the store (with Redis or',
    'PostgreSQL, running servers see it at once; a server holding the file store must be stopped, or use',
    'POST /api/docs/<docId>/revert).',
  ],
  examples: ['ystate revert projects/42 --to 120', 'ystate revert projects/42 --to before-agent --as alice'],
};

/** Runs `ystate revert`. */
export function revertCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      if (values.to === undefined) throw usageError('--to is required');
      return {
        store: storeConfigOf(values),
        docId: positionals[0] as string,
        to: values.to,
        origin: values.as,
      };
    },
    async ({ store: config, docId, to, origin }, io) => {
      const store = await io.openStore(config, { existing: true });
      await headOf(store.log, docId, store.description);
      const result = await withEngine(store, (engine) => engine.revert(docId, to, { origin }));
      await io.print(JSON.stringify(result));
      return undefined;
    },
  );
}
