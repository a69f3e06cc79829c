/** `ystate versions <docId> [--name NAME [--seq SEQ] | --delete NAME]`: lists a document's named versions, names one, or deletes one. */

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
    delete: {
      value: 'NAME',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'delete this version (it no longer pins history)',
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
      help: `with --name or --delete: who the log records (default ${CLI_ORIGIN})`,
    },
  },
  switches: {},
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate versions <docId> [--name NAME [--seq SEQ] | --delete NAME] [--as ORIGIN] [store options]',
  description: [
    'Without --name, prints one JSON line per named version: {"name","seq","origin","time","namedAt"}, who',
    'named it (origin) and when (time, ms since the epoch; namedAt is the seq of the naming entry). With',
    '--name, names --seq (default: the head) by recording the lifecycle event ystate.version.named, and prints',
    'the version. Names are unique per document and must not read as a seq or a time. Use a name wherever a',
    'point is taken: `ystate diff --from NAME`, `ystate revert --to NAME`, GET .../state?version=NAME.',
    "A named version pins the history it needs: `ystate compact --retain` and the engine's retention stop",
    'there. --delete NAME records ystate.version.deleted and prints {"name","seq","deletedAt"}; the name is',
    'free again and its history no longer pinned.',
  ],
  examples: [
    'ystate versions projects/42',
    'ystate versions projects/42 --name before-agent',
    'ystate versions projects/42 --name release-1 --seq 120 --as alice',
    'ystate versions projects/42 --delete before-agent',
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
      if (values.name !== undefined && values.delete !== undefined)
        throw usageError('give --name or --delete, not both');
      return {
        remove: values.delete,
        store: storeConfigOf(values),
        docId: positionals[0] as string,
        name: values.name,
        seq: values.seq,
        origin: values.as,
      };
    },
    async ({ store: config, docId, name, seq, origin, remove }, io) => {
      const writes = name !== undefined || remove !== undefined;
      const store = await io.openStore(config, writes ? { existing: true } : { readOnly: true });
      await headOf(store.log, docId, store.description);
      if (remove !== undefined) {
        const deleted = await withEngine(store, (engine) => engine.deleteVersion(docId, remove, { origin }));
        await io.print(JSON.stringify(deleted));
        return undefined;
      }
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
