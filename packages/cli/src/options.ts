/**
 * The option machinery every `ystate` command shares. An option can come from a flag, a `YSTATE_*`
 * environment variable or a key of the JSON config file, in that order of precedence, else its
 * default; every value is validated, and an error names where the bad value came from. The store
 * options (`--data`, `--redis`, `--redis-cluster`, `--postgres`) are defined once here and used by
 * every command.
 */

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, YStateError } from '@ystate/core';
import { z } from 'zod';
import { closest } from './did-you-mean.js';
import { redisClusterSchema } from './redis-cluster.js';

/** Where an option's value came from, for error messages and the start-up log. */
export type OptionSource = 'flag' | 'env' | 'config' | 'default';

/** An option that takes a value (`--port 8080`). */
export interface ValueOption<S extends z.ZodType = z.ZodType> {
  /** The placeholder in the help: `N`, `DIR`, `URL`. */
  readonly value: string;
  readonly schema: S;
  readonly fallback: z.output<S> | undefined;
  readonly help: string;
  /** Its `YSTATE_*` environment variable; without one the option is a flag only. */
  readonly env?: string;
  /** Read from the config file too (default: when it has an environment variable). */
  readonly config?: boolean;
  /** A path: relative to the config file's directory when it comes from there, else to the cwd. */
  readonly path?: boolean;
  /** The flag may be repeated: its schema gets the list of values (flag only). */
  readonly multiple?: boolean;
}

/** A flag without a value (`--json`). */
export interface SwitchOption {
  readonly help: string;
}

/** The value an option has after parsing: undefined only when it has no default. */
export type OptionValue<O extends ValueOption> = O['fallback'] extends undefined
  ? z.output<O['schema']> | undefined
  : z.output<O['schema']>;

/** What a command accepts. */
export interface CommandSpec<O extends Record<string, ValueOption>, W extends string> {
  /** `backup`, `serve`: for messages (`ystate backup: …`). */
  readonly name: string;
  readonly options: O;
  readonly switches: Record<W, SwitchOption>;
  /** Names of the positional arguments, how many are required, and whether the last may repeat. */
  readonly positionals: {
    readonly names: readonly string[];
    readonly required: number;
    readonly variadic?: boolean;
  };
  /** Every key a config file may hold (the file is shared by all commands; each reads its part). */
  readonly configKeys: readonly string[];
}

/** A parsed command line, with the environment and the config file applied. */
export interface ParsedCommand<O extends Record<string, ValueOption>, W extends string> {
  readonly values: { [K in keyof O]: OptionValue<O[K]> };
  readonly sources: Record<keyof O, OptionSource>;
  readonly switches: Record<W, boolean>;
  readonly positionals: readonly string[];
  /** The config file that was read, if any (absolute). */
  readonly configFile: string | undefined;
  /** The config file's values by key (for keys a command reads itself, like `limits`). */
  readonly fileValues: ReadonlyMap<string, unknown>;
}

const nonEmpty = z.string().trim().min(1, 'expected a non-empty string');

/** A URL whose scheme is one of `schemes` (`redis:`). */
export const urlWithScheme = (schemes: readonly string[]) =>
  nonEmpty.refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}` },
  );

/** A non-empty string. */
export const nonEmptyString = nonEmpty;

/**
 * A whole number from `min` to `max` (flags and env give strings, the config file numbers), with
 * messages that say what is expected: `(expected a whole number)`, `(expected a whole number of at least 1)`.
 */
export const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.union([z.number(), z.string()]).transform((raw, context): number => {
    const value = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    if (!Number.isSafeInteger(value)) {
      context.addIssue({ code: 'custom', message: 'expected a whole number' });
      return z.NEVER;
    }
    if (value < min || value > max) {
      context.addIssue({ code: 'custom', message: `expected a whole number ${range}` });
      return z.NEVER;
    }
    return value;
  });

/** Where the log is: the file log in a directory (default), Redis, a Redis Cluster or PostgreSQL. */
export const STORE_OPTIONS = {
  data: {
    env: 'YSTATE_DATA',
    value: 'DIR',
    schema: nonEmpty,
    fallback: './.ystate',
    path: true,
    help: 'directory of the embedded file log (not used with --redis, --redis-cluster or --postgres)',
  },
  redis: {
    env: 'YSTATE_REDIS',
    value: 'URL',
    schema: urlWithScheme(['redis:', 'rediss:']),
    fallback: undefined,
    help: 'store the log in Redis and sync nodes through it (redis://[user:pass@]host:port[/db])',
  },
  'redis-cluster': {
    env: 'YSTATE_REDIS_CLUSTER',
    value: 'URLS',
    schema: redisClusterSchema,
    fallback: undefined,
    help: 'store the log in a Redis Cluster, given comma-separated seed nodes (redis[s]://[user:pass@]host:port,…)',
  },
  postgres: {
    env: 'YSTATE_POSTGRES',
    value: 'URL',
    schema: urlWithScheme(['postgres:', 'postgresql:']),
    fallback: undefined,
    help: 'store the log in PostgreSQL and sync nodes through LISTEN/NOTIFY (postgres://user:pass@host:port/db)',
  },
} as const satisfies Record<string, ValueOption>;

/** Which store a command uses. */
export interface StoreConfig {
  /** Absolute directory of the file log (used when no other store is set). */
  data: string;
  redis: string | undefined;
  /** Seed node URLs of a Redis Cluster. */
  redisCluster?: readonly string[] | undefined;
  postgres: string | undefined;
}

/** The store options as parsed (flag names as keys). */
export interface StoreValues {
  data: string;
  redis: string | undefined;
  'redis-cluster': readonly string[] | undefined;
  postgres: string | undefined;
}

/** The store options of a parsed command; throws a usage error when more than one store is given. */
export function storeConfigOf(values: StoreValues): StoreConfig {
  const given = (['redis', 'redis-cluster', 'postgres'] as const).filter((key) => values[key] !== undefined);
  if (given.length > 1) {
    const flags = given.map((key) => `--${key}`).join(' and ');
    throw usageError(`choose one store: ${flags} were ${given.length === 2 ? 'both' : 'all'} given`);
  }
  return {
    data: values.data,
    redis: values.redis,
    redisCluster: values['redis-cluster'],
    postgres: values.postgres,
  };
}

/** The flag of the shared store a config names (`--redis`…), or undefined for the file log. */
export function sharedStoreFlag(store: StoreConfig): string | undefined {
  if (store.redis !== undefined) return '--redis';
  if (store.redisCluster !== undefined) return '--redis-cluster';
  if (store.postgres !== undefined) return '--postgres';
  return undefined;
}

/** The config file key of an option: camelCase of its flag (`auth-secret` → `authSecret`). */
export const configKeyOf = (flag: string): string =>
  flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Reads an option from the config file when it says so, or by default when it has an env variable. */
function inConfigFile(option: ValueOption): boolean {
  return option.config ?? option.env !== undefined;
}

/** The config file keys of `options`, in their order. */
export function configKeysOf(options: Record<string, ValueOption>): string[] {
  return Object.entries(options)
    .filter(([, option]) => inConfigFile(option))
    .map(([flag]) => configKeyOf(flag));
}

/**
 * Parses a command's arguments with the environment and the config file (`--config FILE` or
 * `YSTATE_CONFIG`). Returns undefined for `--help`. Throws `YStateError` with code
 * `INVALID_CONFIG` on anything wrong (the CLI exits 2).
 */
export async function parseCommand<O extends Record<string, ValueOption>, W extends string>(
  spec: CommandSpec<O, W>,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<ParsedCommand<O, W> | undefined> {
  const flags = parseFlags(spec, argv);
  if (flags.help) return undefined;

  const configFlag = flags.values.config;
  const configPath =
    (typeof configFlag === 'string' ? configFlag : undefined) ?? envValue(env, 'YSTATE_CONFIG');
  const configFile = configPath === undefined ? undefined : resolve(cwd, configPath);
  const fileValues =
    configFile === undefined ? new Map<string, unknown>() : await readConfigFile(configFile, spec.configKeys);

  const values: Record<string, unknown> = {};
  const sources = {} as Record<keyof O, OptionSource>;
  for (const [flag, option] of Object.entries(spec.options) as [keyof O & string, ValueOption][]) {
    const key = configKeyOf(flag);
    const candidates: [OptionSource, string, unknown][] = [
      ['flag', `--${flag}`, flags.values[flag]],
      ['env', option.env ?? '', option.env === undefined ? undefined : envValue(env, option.env)],
      ['config', `"${key}" in ${configFile}`, inConfigFile(option) ? fileValues.get(key) : undefined],
    ];
    let value: unknown = option.fallback;
    sources[flag] = 'default';
    for (const [source, where, raw] of candidates) {
      if (raw === undefined) continue;
      const parsed = option.schema.safeParse(raw);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
        throw usageError(`invalid ${where}: ${JSON.stringify(raw)} (${reason})`);
      }
      sources[flag] = source;
      value = parsed.data;
      break;
    }
    if (option.path === true && typeof value === 'string') {
      // A relative path from the config file is relative to that file; otherwise to the cwd.
      value = resolve(sources[flag] === 'config' && configFile ? dirname(configFile) : cwd, value);
    }
    values[flag] = value;
  }
  const switches = {} as Record<W, boolean>;
  for (const name of Object.keys(spec.switches) as W[]) switches[name] = flags.switches.has(name);
  return {
    values: values as { [K in keyof O]: OptionValue<O[K]> },
    sources,
    switches,
    positionals: flags.positionals,
    configFile,
    fileValues,
  };
}

interface ParsedFlags {
  help: boolean;
  values: Record<string, string | string[]>;
  switches: Set<string>;
  positionals: string[];
}

function parseFlags(
  spec: CommandSpec<Record<string, ValueOption>, string>,
  argv: readonly string[],
): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag, option] of Object.entries(spec.options)) {
    options[flag] = option.multiple === true ? { type: 'string', multiple: true } : { type: 'string' };
  }
  for (const flag of Object.keys(spec.switches)) options[flag] = { type: 'boolean' };
  const args = checkFlags(argv, options);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    // checkFlags reports what parseArgs would phrase in its own terms; this is a safety net.
    throw usageError(error instanceof Error ? error.message : String(error), error);
  }
  const help = parsed.values.help === true;
  const { names, required, variadic = false } = spec.positionals;
  if (!help && !variadic && parsed.positionals.length > names.length) {
    throw usageError(`unexpected argument "${parsed.positionals[names.length]}"`);
  }
  if (!help && parsed.positionals.length < required) {
    throw usageError(`missing ${names.slice(parsed.positionals.length, required).join(' and ')}`);
  }
  const values: Record<string, string | string[]> = {};
  const switches = new Set<string>();
  for (const [key, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') values[key] = value;
    else if (Array.isArray(value)) values[key] = value.filter((item) => typeof item === 'string');
    else if (value === true && key !== 'help') switches.add(key);
  }
  return { help, values, switches, positionals: parsed.positionals };
}

/**
 * Checks the flags before `parseArgs` sees them, so that mistakes get our words: an unknown flag
 * with the nearest known one, a flag missing its value, a switch given a value. A value that
 * starts with a dash is taken as the value when it is a number (`--retain -3`, which the option's
 * check then explains). Returns the arguments for `parseArgs`.
 */
function checkFlags(
  argv: readonly string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>,
): string[] {
  const args: string[] = [];
  const shorts = new Map(
    Object.entries(options).flatMap(([name, option]) =>
      option.short ? [[option.short, name] as const] : [],
    ),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      args.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const [head, inline] = splitInline(arg);
    const name = long ? head.slice(2) : shorts.get(head.slice(1));
    const option = name === undefined ? undefined : options[name];
    if (name === undefined || option === undefined) {
      const guess = closest(long ? head.slice(2) : head.slice(1), Object.keys(options));
      throw usageError(`unknown flag ${head}${guess === undefined ? '' : `; did you mean --${guess}?`}`);
    }
    if (option.type === 'boolean') {
      if (inline !== undefined) throw usageError(`${head} takes no value (got "${inline}")`);
      args.push(`--${name}`);
      continue;
    }
    if (inline !== undefined) {
      args.push(`--${name}=${inline}`);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || (value.startsWith('-') && value !== '-' && !/^-\d/.test(value))) {
      throw usageError(`${head} needs a value`);
    }
    args.push(`--${name}=${value}`);
    i++;
  }
  return args;
}

/** `--port=80` → [`--port`, `80`]; `--port` → [`--port`, undefined]. */
function splitInline(arg: string): [string, string | undefined] {
  const at = arg.indexOf('=');
  return at === -1 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
}

/** An environment variable, with the empty string meaning unset (as shells and compose files use it). */
export function envValue(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

async function readConfigFile(file: string, known: readonly string[]): Promise<Map<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw usageError(`cannot read config file ${file}: ${reason}`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw usageError(`config file ${file} is not valid JSON: ${(error as Error).message}`, error);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw usageError(`config file ${file} must hold a JSON object`);
  }
  const values = new Map<string, unknown>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '$schema') continue;
    if (!known.includes(name)) {
      const guess = closest(name, known);
      throw usageError(
        `unknown key "${name}" in config file ${file} (known: ${known.join(', ')})${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
      );
    }
    if (value !== null) values.set(name, value);
  }
  return values;
}

/** Help rows for options: `--flag VALUE` and what it does, with its default and variable. */
export function optionRows(options: Record<string, ValueOption>): [string, string][] {
  return Object.entries(options).map(([flag, option]) => {
    const fallback = option.fallback === undefined ? '' : ` (default ${String(option.fallback)})`;
    const env = option.env === undefined ? '' : `; env ${option.env}`;
    return [`  --${flag} ${option.value}`, `${option.help}${fallback}${env}`];
  });
}

/** Help rows for switches. */
export function switchRows(switches: Record<string, SwitchOption>): [string, string][] {
  return Object.entries(switches).map(([flag, option]) => [`  --${flag}`, option.help]);
}

/** Two aligned columns. */
export function formatRows(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right);
}

/** A usage error: the CLI prints its message and exits 2. */
export function usageError(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_CONFIG, message, cause });
}

/** True for errors `usageError` made. */
export function isUsageError(error: unknown): boolean {
  return error instanceof YStateError && error.code === ErrorCode.INVALID_CONFIG;
}
