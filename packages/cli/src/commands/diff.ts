/** `ystate diff <docId> --from POINT [--to POINT]`: the JSON Patch between two points of a document's history. */

import { diffVersions } from '@ystate/core';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { STORE_OPTIONS, storeConfigOf, usageError } from '../options.js';
import { decodingView, headOf } from '../retained.js';
import { versionPointSchema } from '../version-commands.js';

const SPEC = {
  name: 'diff',
  options: {
    ...STORE_OPTIONS,
    from: {
      value: 'POINT',
      schema: versionPointSchema,
      fallback: undefined,
      help: 'a seq, a time or a version name',
    },
    to: {
      value: 'POINT',
      schema: versionPointSchema,
      fallback: undefined,
      help: 'the same (default: the head)',
    },
  },
  switches: {},
  positionals: { names: ['<docId>'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate diff <docId> --from POINT [--to POINT] [store options]',
  description: [
    'Prints {"from","to","patch"}: the RFC 6902 JSON Patch that turns the document as it was at --from into',
    'the document at --to (default: the head), and the seqs the two points resolved to. A point is a seq (42),',
    'a time (ISO 8601, or ms since the epoch as 13 digits: the last entry written at or before it) or the',
    'name of a version (`ystate versions`). The same answer as GET /api/docs/<docId>/diff.',
  ],
  examples: [
    'ystate diff projects/42 --from 100',
    'ystate diff projects/42 --from before-agent --to 2025-01-31T12:00:00Z',
    'ystate diff projects/42 --from 0 --to 120 --redis redis://127.0.0.1:6379 | jq .patch',
  ],
};

/** Runs `ystate diff`. */
export function diffCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      if (values.from === undefined) throw usageError('--from is required');
      return {
        store: storeConfigOf(values),
        docId: positionals[0] as string,
        from: values.from,
        to: values.to,
      };
    },
    async ({ store: config, docId, from, to }, io) => {
      const store = await io.openStore(config, { readOnly: true });
      const log = decodingView(store.log);
      const head = await headOf(log, docId, store.description);
      const diff = await diffVersions(log, docId, from, to ?? { seq: head });
      await io.print(JSON.stringify(diff, null, 2));
      return undefined;
    },
  );
}
