/** `ystate webhooks status`: what the store says about each webhook subscription's delivery. */

import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { nonEmptyString, STORE_OPTIONS, storeConfigOf, usageError } from '../options.js';

const SPEC = {
  name: 'webhooks',
  options: {
    ...STORE_OPTIONS,
    subscription: {
      value: 'ID',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'only this subscription',
    },
  },
  switches: {},
  positionals: { names: ['status'], required: 1 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate webhooks status [--subscription ID] [store options]',
  description: [
    'Prints one JSON line per webhook subscription the store holds delivery state for:',
    '{"subscription","healthy","node","updatedAt","since","documents","behind","failing"}. `node` is the',
    'server that delivers it (its last status), `since` when delivery started (ms since the epoch: earlier',
    'changes are not sent), `documents` how many documents it has cursors for, `behind` the documents with',
    'entries not yet delivered (how many), and `failing` the documents whose deliveries fail, with the',
    'attempts so far, the last error and when the next attempt is due. `healthy` is false when anything',
    'is failing. Subscriptions are configured in the config file of `ystate serve` ("webhooks"; see',
    'docs/versions.md). Reads the store only: it may run beside a server, the file store included.',
  ],
  examples: [
    'ystate webhooks status --data .ystate',
    'ystate webhooks status --redis redis://localhost:6379 --subscription crm',
  ],
};

/** Runs `ystate webhooks`. */
export function webhooksCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, positionals }) => {
      if (positionals[0] !== 'status')
        throw usageError(`unknown action "${positionals[0]}" (expected status)`);
      return { store: storeConfigOf(values), only: values.subscription };
    },
    async ({ store: config, only }, io) => {
      const store = await io.openStore(config, { readOnly: true });
      const ids = (await store.deliveries.subscriptions()).filter((id) => only === undefined || id === only);
      if (ids.length === 0) {
        io.note(
          only === undefined
            ? `no webhook subscription has delivery state in ${store.description}`
            : `subscription "${only}" has no delivery state in ${store.description}`,
        );
        return only === undefined ? undefined : 1;
      }
      for (const id of ids) {
        const status = await store.deliveries.status(id);
        const cursors = await store.deliveries.cursors(id);
        const behind: Record<string, number> = {};
        for (const [docId, seq] of cursors) {
          const head = await store.log.head(docId);
          if (head > seq) behind[docId] = head - seq;
        }
        const failing = status?.failing ?? {};
        await io.print(
          JSON.stringify({
            subscription: id,
            healthy: Object.keys(failing).length === 0,
            node: status?.node ?? null,
            updatedAt: status?.updatedAt ?? null,
            since: status?.since ?? null,
            documents: cursors.size,
            behind,
            failing,
          }),
        );
      }
      return undefined;
    },
  );
}
