/** `ystate versions <docId> [--name NAME [--seq SEQ]]`: lists a document's named versions, or names one. */

import { listVersions } from '@ystate/core';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { nonEmptyString, STORE_OPTIONS, storeConfigOf, usageError, wholeNumber } from '../options.js';
import { decodingView, headOf } from '../retained.js';
import { CLI_ORIGIN, withEngine } from '../version-commands.js';

const SPEC = {
  name: 'versions',
  options: {
    ...STORE_OPTIONS,
    name: {
      value: 'NAME',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'name a version instead of listing them',
    },
    seq: {
      value: 'SEQ',
      schema: wholeNumber(0),
      fallback: undefined,
      help: 'with --name: the seq to name (default: the head)',
    },
    as: {
      value: 'ORIGIN',
      schema: nonEmptyString,
      fallback: CLI_ORIGIN,
      help: `with --name: who the log records as naming it (default ${CLI_ORIGIN})`,
    },
  },
  switches: {},
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate versions <docId> [--name NAME [--seq SEQ] [--as ORIGIN]] [store options]',
  description: [
    'Without --name, prints one JSON line per named version: {"name","seq","origin","time","namedAt"}, who',
    'named it (origin) and when (time, ms since the epoch; namedAt is the seq of the naming entry). With',
    '--name, names --seq (default: the head) by recording the lifecycle event ystate.version.named, and prints',
    'the version. Names are unique per document and must not read as a seq or a time. Use a name wherever a',
    'point is taken: `ystate diff --from NAME`, `ystate revert --to NAME`, GET .../state?version=NAME.',
  ],
  examples: [
    'ystate versions projects/42',
    'ystate versions projects/42 --name before-agent',
    'ystate versions projects/42 --name release-1 --seq 120 --as alice',
  ],
};

/** Runs `ystate versions`. */
export function versionsCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      if (values.name === undefined && values.seq !== undefined) throw usageError('--seq needs --name');
      return {
        store: storeConfigOf(values),
        docId: positionals[0] as string,
        name: values.name,
        seq: values.seq,
        origin: values.as,
      };
    },
    async ({ store: config, docId, name, seq, origin }, io) => {
      const store = await io.openStore(config, name === undefined ? { readOnly: true } : { existing: true });
      await headOf(store.log, docId, store.description);
      if (name === undefined) {
        for (const version of await listVersions(decodingView(store.log), docId)) {
          await io.print(JSON.stringify(version));
        }
        return undefined;
      }
      const named = await withEngine(store, (engine) =>
        engine.nameVersion(docId, name, seq === undefined ? { origin } : { origin, seq }),
      );
      await io.print(JSON.stringify(named));
      return undefined;
    },
  );
}
