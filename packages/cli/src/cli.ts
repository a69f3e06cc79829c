/**
 * The `ystate` command: dispatches sub-commands and turns failures into exit codes
 * (0 done, 1 failed while running, 2 bad usage or configuration). Each command's module is
 * loaded when it runs, so `ystate inspect` does not load the server.
 */

import { readFileSync } from 'node:fs';
import { type CliContext, ExitCode } from './command.js';
import { closest } from './did-you-mean.js';
import { startedByNpm, watchParent } from './parent-watch.js';

export type { CliContext } from './command.js';
export { ExitCode } from './command.js';

const COMMANDS: Record<
  string,
  () => Promise<(argv: readonly string[], context: CliContext) => Promise<number>>
> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  backup: async () => (await import('./commands/backup.js')).backupCommand,
  restore: async () => (await import('./commands/restore.js')).restoreCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  compact: async () => (await import('./commands/compact.js')).compactCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  salvage: async () => (await import('./commands/salvage.js')).salvageCommand,
  diff: async () => (await import('./commands/diff.js')).diffCommand,
  revert: async () => (await import('./commands/revert.js')).revertCommand,
  undo: async () => (await import('./commands/undo.js')).undoCommand,
  versions: async () => (await import('./commands/versions.js')).versionsCommand,
  webhooks: async () => (await import('./commands/webhooks.js')).webhooksCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
};

const USAGE = `Usage: ystate <command> [options]

Commands:
  serve     run a ystate server (y-websocket, HTTP API, demo page; scheduled backups)
  backup    write a backup archive of the store's documents
  restore   load a backup archive into the store
  replay    print a document's state at a seq or time, or step through its history
  inspect   report what a document's log holds (seqs, kinds, sizes, checkpoints, writers)
  compact   store a checkpoint at the head now, and optionally prune old entries
  migrate   import y-redis 1.x documents
  salvage   keep the valid prefix of file logs damaged before their tail (file log only)
  diff      print the JSON Patch between two points of a document's history
  revert    make a document what it was at a seq, time or named version (a new entry)
  undo      undo one agent run's or one origin's changes, keeping everyone else's
  versions  list a document's named versions, or name one
  webhooks  show each webhook subscription's delivery: who delivers, what is behind or failing
  token     mint a JWT for a server started with --auth-secret

Every command but salvage and token takes the store options of serve (--data DIR, --redis URL,
--redis-cluster URLS, --postgres URL, --config FILE and their YSTATE_* variables). Run \`ystate <command> --help\` for its options.

Options:
  -h, --help     print this help
  -v, --version  print the version`;

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], context: CliContext = processContext()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    context.stdout.write(`${USAGE}\n`);
    return ExitCode.OK;
  }
  if (command === '-v' || command === '--version') {
    context.stdout.write(`${version()}\n`);
    return ExitCode.OK;
  }
  const load = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load !== undefined) return (await load())(rest, context);
  const guess =
    command === undefined ? undefined : closest(command.replace(/^-+/, ''), Object.keys(COMMANDS));
  const problem =
    command === undefined
      ? 'missing command'
      : `unknown command "${command}"${guess === undefined ? '' : `; did you mean "${guess}"?`}`;
  context.stderr.write(`ystate: ${problem}\n\n${USAGE}\n`);
  return ExitCode.USAGE;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    signals: (onSignal) => {
      let stopWatching: () => void = () => undefined;
      const received = (signal: NodeJS.Signals) => {
        stopWatching();
        onSignal(signal);
      };
      process.on('SIGTERM', received);
      process.on('SIGINT', received);
      // npm's script shell swallows a SIGTERM sent to npm: its death is the signal (parent-watch.ts).
      // A signal that did reach us (Ctrl-C reaches the whole group) ends the watch, so the shell
      // dying of the same Ctrl-C does not count as a second signal.
      if (startedByNpm(process.env)) stopWatching = watchParent(() => onSignal('SIGTERM'));
    },
  };
}
