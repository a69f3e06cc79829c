/**
 * The options of `ystate serve`: each one can come from a flag, a `YSTATE_*` environment variable
 * or a key of the JSON config file, in that order of precedence, else its default. Every value is
 * validated, and an error names where the bad value came from.
 */

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, YStateError } from '@ystate/core';
import type { AlertThresholds, ServerLimits } from '@ystate/server';
import { z } from 'zod';

/** Log levels, as pino names them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `pretty`: one readable line per record; `json`: pino's JSON lines. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The validated configuration of `ystate serve`. */
export interface ServeConfig {
  /** TCP port; 0 picks a free one (the start-up log prints it). */
  port: number;
  host: string;
  /** Absolute directory of the file log (used when neither `redis` nor `postgres` is set). */
  data: string;
  redis: string | undefined;
  postgres: string | undefined;
  authSecret: string | undefined;
  logLevel: LogLevel;
  /** Undefined means: `pretty` when stdout is a terminal, `json` otherwise. */
  logFormat: LogFormat | undefined;
  /** Server limits (config file only: `"limits": { "maxMessageBytes": … }`). */
  limits: ServerLimits | undefined;
  /** Alert thresholds (config file only: `"alerts": { "appendLatencyMs": … }`). */
  alerts: AlertThresholds | undefined;
  /** The config file that was read, if any (absolute). */
  configFile: string | undefined;
}

/** Where an option's value came from, for error messages and the start-up log. */
export type OptionSource = 'flag' | 'env' | 'config' | 'default';

/** What `parseServeArgs` found: either a request for help or a configuration. */
export type ServeInvocation =
  | { help: true }
  | { help: false; config: ServeConfig; sources: Record<OptionKey, OptionSource> };

const portSchema = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'expected a whole number').transform(Number)])
  .pipe(z.number().int('expected a whole number').min(0).max(65535));
const nonEmpty = z.string().trim().min(1, 'expected a non-empty string');
const urlWithScheme = (schemes: readonly string[]) =>
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

/** Every option: its flag, environment variable, config key, schema, default and help line. */
const OPTIONS = {
  port: {
    env: 'YSTATE_PORT',
    value: 'N',
    schema: portSchema,
    fallback: 1234,
    help: 'TCP port to listen on (0 picks a free port)',
  },
  host: {
    env: 'YSTATE_HOST',
    value: 'HOST',
    schema: nonEmpty,
    fallback: '127.0.0.1',
    help: 'interface to bind; 0.0.0.0 (or ::) to accept connections from other machines',
  },
  data: {
    env: 'YSTATE_DATA',
    value: 'DIR',
    schema: nonEmpty,
    fallback: './.ystate',
    help: 'directory of the embedded file log (not used with --redis or --postgres)',
  },
  redis: {
    env: 'YSTATE_REDIS',
    value: 'URL',
    schema: urlWithScheme(['redis:', 'rediss:']),
    fallback: undefined,
    help: 'store the log in Redis and sync nodes through it (redis://[user:pass@]host:port[/db])',
  },
  postgres: {
    env: 'YSTATE_POSTGRES',
    value: 'URL',
    schema: urlWithScheme(['postgres:', 'postgresql:']),
    fallback: undefined,
    help: 'store the log in PostgreSQL and sync nodes through LISTEN/NOTIFY (postgres://user:pass@host:port/db)',
  },
  'auth-secret': {
    env: 'YSTATE_AUTH_SECRET',
    value: 'SECRET',
    schema: nonEmpty,
    fallback: undefined,
    help: 'HS256 secret: require a JWT signed with it on every connection and request',
  },
  'log-level': {
    env: 'YSTATE_LOG_LEVEL',
    value: 'LEVEL',
    schema: z.enum(LOG_LEVELS),
    fallback: 'info',
    help: `${LOG_LEVELS.join(' | ')}`,
  },
  'log-format': {
    env: 'YSTATE_LOG_FORMAT',
    value: 'FORMAT',
    schema: z.enum(LOG_FORMATS),
    fallback: undefined,
    help: 'pretty | json (default: pretty on a terminal, json otherwise)',
  },
} as const;

const positiveInt = z.number().int().positive();
const positive = z.number().positive();

/** Keys only a config file can set: nested objects handed to the server as they are. */
const FILE_ONLY = {
  limits: z.strictObject({
    maxMessageBytes: positiveInt.optional(),
    messagesPerSecond: positive.optional(),
    maxBufferedBytes: positiveInt.optional(),
    pingIntervalMs: positiveInt.optional(),
    maxBodyBytes: positiveInt.optional(),
  }),
  alerts: z.strictObject({
    appendLatencyMs: positive.optional(),
    busLagMs: positive.optional(),
  }),
} as const;
type FileOnlyKey = keyof typeof FILE_ONLY;

export type OptionKey = keyof typeof OPTIONS;
type OptionValue<K extends OptionKey> = z.output<(typeof OPTIONS)[K]['schema']>;

/** The config file key of an option: camelCase of its flag (`auth-secret` → `authSecret`). */
const configKeyOf = (key: OptionKey): string => key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];
const CONFIG_KEYS = new Map<string, OptionKey | FileOnlyKey>([
  ...OPTION_KEYS.map((key) => [configKeyOf(key), key] as const),
  ['limits', 'limits'],
  ['alerts', 'alerts'],
]);

/** `ystate serve --help`. */
export function serveUsage(): string {
  const rows = OPTION_KEYS.map((key) => {
    const option = OPTIONS[key];
    const fallback = option.fallback === undefined ? '' : ` (default ${option.fallback})`;
    return [`  --${key} ${option.value}`, `${option.help}${fallback}; env ${option.env}`];
  });
  rows.push(['  --config FILE', 'JSON file with any of the keys below; env YSTATE_CONFIG']);
  rows.push(['  -h, --help', 'print this help']);
  const width = Math.max(...rows.map(([left]) => left!.length)) + 2;
  return [
    'Usage: ystate serve [options]',
    '',
    'Runs a ystate server: y-websocket at ws://HOST:PORT/<docId>, the HTTP API under /api/docs,',
    '/healthz, /readyz, /metrics, and a demo page at /.',
    '',
    'Options (precedence: flag > environment > config file > default):',
    ...rows.map(([left, right]) => left!.padEnd(width) + right),
    '',
    `Config file keys: ${[...CONFIG_KEYS.keys()].join(', ')}.`,
    'Config-file only: "limits" { maxMessageBytes, messagesPerSecond, maxBufferedBytes, pingIntervalMs,',
    'maxBodyBytes } and "alerts" { appendLatencyMs, busLagMs } (see docs/configuration.md).',
    'Relative paths in a config file are resolved against the file’s directory.',
  ].join('\n');
}

/**
 * Parses `ystate serve` arguments together with the environment and the config file.
 * Throws `YStateError` with code `INVALID_CONFIG` on anything wrong (the CLI exits 2).
 */
export async function parseServeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<ServeInvocation> {
  const flags = parseFlags(argv);
  if (flags.help) return { help: true };

  const configPath = flags.values.config ?? envValue(env, 'YSTATE_CONFIG');
  const configFile = configPath === undefined ? undefined : resolve(cwd, configPath);
  const fileValues =
    configFile === undefined ? new Map<OptionKey | FileOnlyKey, unknown>() : await readConfigFile(configFile);

  const sources = {} as Record<OptionKey, OptionSource>;
  const pick = <K extends OptionKey>(key: K): OptionValue<K> => {
    const option = OPTIONS[key];
    const candidates: [OptionSource, string, unknown][] = [
      ['flag', `--${key}`, flags.values[key]],
      ['env', option.env, envValue(env, option.env)],
      ['config', `"${configKeyOf(key)}" in ${configFile}`, fileValues.get(key)],
    ];
    for (const [source, where, raw] of candidates) {
      if (raw === undefined) continue;
      const parsed = option.schema.safeParse(raw);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
        throw usageError(`invalid ${where}: ${JSON.stringify(raw)} (${reason})`);
      }
      sources[key] = source;
      return parsed.data as OptionValue<K>;
    }
    sources[key] = 'default';
    return option.fallback as OptionValue<K>;
  };

  /** A validated config-file-only object; its fields are those of the server's option types. */
  function fileOnly(key: FileOnlyKey): object | undefined {
    const raw = fileValues.get(key);
    if (raw === undefined) return undefined;
    const parsed = FILE_ONLY[key].safeParse(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues
        .map((issue) => `${[key, ...issue.path].join('.')}: ${issue.message}`)
        .join('; ');
      throw usageError(`invalid "${key}" in ${configFile}: ${reason}`);
    }
    return withoutUndefined(parsed.data);
  }

  const config: ServeConfig = {
    port: pick('port'),
    host: pick('host'),
    data: pick('data'),
    redis: pick('redis'),
    postgres: pick('postgres'),
    authSecret: pick('auth-secret'),
    logLevel: pick('log-level'),
    logFormat: pick('log-format'),
    limits: fileOnly('limits') as ServerLimits | undefined,
    alerts: fileOnly('alerts') as AlertThresholds | undefined,
    configFile,
  };
  // A relative data dir from the config file is relative to that file; otherwise to the cwd.
  config.data = resolve(sources.data === 'config' && configFile ? dirname(configFile) : cwd, config.data);
  if (config.redis !== undefined && config.postgres !== undefined) {
    throw usageError('choose one store: --redis and --postgres were both given');
  }
  return { help: false, config, sources };
}

interface ParsedFlags {
  help: boolean;
  values: Partial<Record<OptionKey | 'config', string>>;
}

function parseFlags(argv: readonly string[]): ParsedFlags {
  const options = Object.fromEntries(OPTION_KEYS.map((key) => [key, { type: 'string' as const }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // parseArgs' messages are clear ("Unknown option '--prot'"); keep them, drop the stack.
    throw usageError(error instanceof Error ? error.message : String(error), error);
  }
  if (parsed.positionals.length > 0) {
    throw usageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  const values: ParsedFlags['values'] = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') values[key as OptionKey | 'config'] = value;
  }
  return { help: parsed.values.help === true, values };
}

/** An environment variable, with the empty string meaning unset (as shells and compose files use it). */
function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

async function readConfigFile(file: string): Promise<Map<OptionKey | FileOnlyKey, unknown>> {
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
  const values = new Map<OptionKey | FileOnlyKey, unknown>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '$schema') continue;
    const key = CONFIG_KEYS.get(name);
    if (key === undefined) {
      throw usageError(
        `unknown key "${name}" in config file ${file} (known: ${[...CONFIG_KEYS.keys()].join(', ')})`,
      );
    }
    if (value !== null) values.set(key, value);
  }
  return values;
}

/** The object without the keys zod left undefined (optional properties are absent, not undefined). */
function withoutUndefined<T extends object>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** A usage error: the CLI prints its message and exits 2. */
export function usageError(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_CONFIG, message, cause });
}
