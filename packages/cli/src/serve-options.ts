/**
 * The options of `ystate serve`: the shared store options plus the server's own, each from a flag,
 * a `YSTATE_*` environment variable or a key of the JSON config file, in that order of
 * precedence, else its default (the machinery is options.ts). The config file's keys are those of
 * serve; every other command reads its store keys from the same file.
 */

import type { AlertThresholds, CorsOptions, ServerLimits, WebhookOptions } from '@ystate/server';
import { z } from 'zod';
import {
  type CommandSpec,
  configKeysOf,
  formatRows,
  nonEmptyString,
  type OptionSource,
  optionRows,
  parseCommand,
  STORE_OPTIONS,
  sharedStoreFlag,
  storeConfigOf,
  usageError,
  type ValueOption,
  wholeNumber,
} from './options.js';

export type { OptionSource } from './options.js';
export { usageError } from './options.js';

/** Log levels, as pino names them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `pretty`: one readable line per record; `json`: pino's JSON lines. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
/** How `ystate serve` writes its log. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * When the embedded file store fsyncs appended updates: `always` before they are acknowledged,
 * `interval` on a timer, `never` (the operating system decides).
 */
export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;
/** One of `FSYNC_POLICIES`. */
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

/** The validated configuration of `ystate serve`. */
export interface ServeConfig {
  /** TCP port; 0 picks a free one (the start-up log prints it). */
  port: number;
  host: string;
  /** Absolute directory of the file log (used when no other store is set). */
  data: string;
  redis: string | undefined;
  /** Seed node URLs of a Redis Cluster. */
  redisCluster: readonly string[] | undefined;
  postgres: string | undefined;
  /** The file store's fsync policy (the file store only: refused with another store). */
  fsync: FsyncPolicy;
  /** The period of the `interval` policy in milliseconds (undefined: the file store's default, 1000). */
  fsyncIntervalMs: number | undefined;
  authSecret: string | undefined;
  /** Seconds a token without `exp` stays valid (from its `iat`, else from when the connection opened). */
  authMaxTokenAge: number | undefined;
  /** Refuse changes that would make a document's stored size exceed this many bytes. */
  maxDocumentBytes: number | undefined;
  logLevel: LogLevel;
  /** Undefined means: `pretty` when stdout is a terminal, `json` otherwise. */
  logFormat: LogFormat | undefined;
  /** Server limits (config file only: `"limits": { "maxMessageBytes": … }`). */
  limits: ServerLimits | undefined;
  /** Alert thresholds (config file only: `"alerts": { "appendLatencyMs": … }`). */
  alerts: AlertThresholds | undefined;
  /** Scheduled backups: every this many milliseconds (undefined: none). */
  backupEvery: number | undefined;
  /** Absolute directory the scheduled backups are written to. */
  backupDir: string | undefined;
  /** How many scheduled backups to keep, newest first (undefined: all). */
  backupKeep: number | undefined;
  /** Cross-origin access from browsers (undefined: off). */
  cors: CorsOptions | undefined;
  /**
   * Webhook subscriptions and their delivery settings (config file only: `"webhooks": { "subscriptions": […] }`);
   * the store is the server's. Subscriptions are checked in full when the server starts.
   */
  webhooks: Omit<WebhookOptions, 'store'> | undefined;
  /** The config file that was read, if any (absolute). */
  configFile: string | undefined;
}

/** What `parseServeArgs` found: either a request for help or a configuration. */
export type ServeInvocation =
  | { help: true }
  | { help: false; config: ServeConfig; sources: Record<OptionKey, OptionSource> };

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `30s`, `15m`, `1h`, `1.5h` or `1d`, in milliseconds (at least one second). */
export const durationSchema = z
  .string()
  .trim()
  .transform((text, context) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
    const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : NaN;
    if (!Number.isFinite(ms)) {
      context.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 15m, 1h or 1d' });
      return z.NEVER;
    }
    if (ms < 1000) {
      context.addIssue({ code: 'custom', message: 'expected at least 1s' });
      return z.NEVER;
    }
    return Math.round(ms);
  });

const nonEmpty = nonEmptyString;

/** Web origins (`https://app.example.com`) or `*`: a comma list (flags, env) or an array (config file). */
const originList = z.union([z.string(), z.array(z.string())]).transform((value, context) => {
  const items = (Array.isArray(value) ? value : [value])
    .flatMap((item) => item.split(','))
    .map((item) => item.trim().replace(/\/+$/, ''))
    .filter((item) => item !== '');
  for (const item of items) {
    if (item === '*') continue;
    let origin: string | undefined;
    try {
      const url = new URL(item);
      origin = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin !== item.toLowerCase()) {
      context.addIssue({
        code: 'custom',
        message: `"${item}" is not an origin (scheme://host[:port], no path) or *`,
      });
      return z.NEVER;
    }
  }
  return items;
});

const booleanValue = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

/** Every option of serve: its flag, environment variable, config key, schema, default and help line. */
const OPTIONS = {
  port: {
    env: 'YSTATE_PORT',
    value: 'N',
    schema: wholeNumber(0, 65535),
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
  ...STORE_OPTIONS,
  fsync: {
    env: 'YSTATE_FSYNC',
    value: 'POLICY',
    schema: z.enum(FSYNC_POLICIES),
    fallback: 'always',
    help: 'file store only: fsync before acknowledging (always), every --fsync-interval (interval) or never',
  },
  'fsync-interval': {
    env: 'YSTATE_FSYNC_INTERVAL',
    value: 'MS',
    schema: wholeNumber(1),
    fallback: undefined,
    help: 'with --fsync interval: milliseconds between fsyncs (default 1000)',
  },
  'auth-secret': {
    env: 'YSTATE_AUTH_SECRET',
    value: 'SECRET',
    schema: nonEmpty,
    fallback: undefined,
    help: 'HS256 secret: require a JWT signed with it on every connection and request',
  },
  'max-document-bytes': {
    env: 'YSTATE_MAX_DOCUMENT_BYTES',
    value: 'BYTES',
    schema: wholeNumber(1),
    fallback: undefined,
    help: 'refuse changes (DOCUMENT_TOO_LARGE, 413 / 4413) that would make a document larger than this',
  },
  'auth-max-token-age': {
    env: 'YSTATE_AUTH_MAX_TOKEN_AGE',
    value: 'SECONDS',
    schema: wholeNumber(1),
    fallback: undefined,
    help: 'with --auth-secret: refuse tokens without exp older than this (from iat, else from connecting)',
  },
  'cors-origin': {
    env: 'YSTATE_CORS_ORIGIN',
    value: 'ORIGIN',
    schema: originList,
    fallback: undefined,
    multiple: true,
    help: 'let pages on this origin call the HTTP API, SSE and /agui (repeatable or a comma list; * = any)',
  },
  'cors-credentials': {
    env: 'YSTATE_CORS_CREDENTIALS',
    value: 'BOOL',
    schema: booleanValue,
    fallback: false,
    help: 'with --cors-origin: allow credentials (cookies) from those origins (not with *)',
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
  'backup-every': {
    env: 'YSTATE_BACKUP_EVERY',
    value: 'DURATION',
    schema: durationSchema,
    fallback: undefined,
    help: 'write a backup archive this often (30s, 15m, 1h, 1d); needs --backup-dir',
  },
  'backup-dir': {
    env: 'YSTATE_BACKUP_DIR',
    value: 'DIR',
    schema: nonEmpty,
    fallback: undefined,
    path: true,
    help: 'directory of the scheduled backups (created when missing)',
  },
  'backup-keep': {
    env: 'YSTATE_BACKUP_KEEP',
    value: 'N',
    schema: wholeNumber(1),
    fallback: undefined,
    help: 'keep only the newest N scheduled backups (default: keep all)',
  },
} as const satisfies Record<string, ValueOption>;

/** The name of a `ystate serve` option. */
export type OptionKey = keyof typeof OPTIONS;

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
    headersTimeoutMs: positiveInt.optional(),
    requestTimeoutMs: positiveInt.optional(),
    upgradeTimeoutMs: positiveInt.optional(),
  }),
  alerts: z.strictObject({
    appendLatencyMs: positive.optional(),
    busLagMs: positive.optional(),
  }),
  webhooks: z.strictObject({
    // Each subscription's fields are checked by the server (parseSubscriptions) when it starts.
    subscriptions: z.array(z.record(z.string(), z.unknown())),
    pollMs: positiveInt.optional(),
    leaseMs: positiveInt.optional(),
    retry: z.strictObject({ minMs: positiveInt.optional(), maxMs: positiveInt.optional() }).optional(),
    timeoutMs: positiveInt.optional(),
    maxEntries: positiveInt.optional(),
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  }),
} as const;
type FileOnlyKey = keyof typeof FILE_ONLY;

/** Every key a config file may hold; every command accepts the same file. */
export const CONFIG_FILE_KEYS: readonly string[] = [...configKeysOf(OPTIONS), ...Object.keys(FILE_ONLY)];

const SPEC: CommandSpec<typeof OPTIONS, never> = {
  name: 'serve',
  options: OPTIONS,
  switches: {},
  positionals: { names: [], required: 0 },
  configKeys: CONFIG_FILE_KEYS,
};

/** `ystate serve --help`. */
export function serveUsage(): string {
  return [
    'Usage: ystate serve [options]',
    '',
    'Runs a ystate server: y-websocket at ws://HOST:PORT/<docId>, the HTTP API under /api/docs,',
    '/healthz, /readyz, /metrics, and a demo page at /.',
    '',
    'Options (precedence: flag > environment > config file > default):',
    ...formatRows([
      ...optionRows(OPTIONS),
      ['  --config FILE', 'JSON file with any of the keys below; env YSTATE_CONFIG'],
      ['  -h, --help', 'print this help'],
    ]),
    '',
    `Config file keys: ${CONFIG_FILE_KEYS.join(', ')}.`,
    'Config-file only: "limits" { maxMessageBytes, messagesPerSecond, maxBufferedBytes, pingIntervalMs,',
    'maxBodyBytes, headersTimeoutMs, requestTimeoutMs, upgradeTimeoutMs } and "alerts" { appendLatencyMs,',
    'busLagMs } (see docs/configuration.md); "webhooks" { subscriptions: [{ id, url, docs, secret, debounceMs,',
    'maxPatchBytes }], pollMs, leaseMs, retry { minMs, maxMs }, timeoutMs, maxEntries, publicUrl } (docs/versions.md).',
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
  const parsed = await parseCommand(SPEC, argv, env, cwd);
  if (parsed === undefined) return { help: true };
  const { values, configFile, fileValues } = parsed;

  /** A validated config-file-only object; its fields are those of the server's option types. */
  function fileOnly(key: FileOnlyKey): object | undefined {
    const raw = fileValues.get(key);
    if (raw === undefined) return undefined;
    const result = FILE_ONLY[key].safeParse(raw);
    if (!result.success) {
      const reason = result.error.issues
        .map((issue) => `${[key, ...issue.path].join('.')}: ${issue.message}`)
        .join('; ');
      throw usageError(`invalid "${key}" in ${configFile}: ${reason}`);
    }
    return withoutUndefined(result.data);
  }

  const store = storeConfigOf(values);
  const config: ServeConfig = {
    port: values.port,
    host: values.host,
    ...store,
    redisCluster: store.redisCluster,
    fsync: values.fsync,
    fsyncIntervalMs: values['fsync-interval'],
    authSecret: values['auth-secret'],
    authMaxTokenAge: values['auth-max-token-age'],
    maxDocumentBytes: values['max-document-bytes'],
    logLevel: values['log-level'],
    logFormat: values['log-format'],
    limits: fileOnly('limits') as ServerLimits | undefined,
    alerts: fileOnly('alerts') as AlertThresholds | undefined,
    webhooks: fileOnly('webhooks') as ServeConfig['webhooks'],
    backupEvery: values['backup-every'],
    backupDir: values['backup-dir'],
    backupKeep: values['backup-keep'],
    cors:
      values['cors-origin'] === undefined
        ? undefined
        : { origins: values['cors-origin'], credentials: values['cors-credentials'] },
    configFile,
  };
  if (config.cors?.credentials === true && config.cors.origins.includes('*')) {
    throw usageError('--cors-credentials cannot be used with --cors-origin * (list the origins)');
  }
  if (config.cors === undefined && parsed.sources['cors-credentials'] !== 'default') {
    throw usageError('--cors-credentials does nothing without --cors-origin');
  }
  const shared = sharedStoreFlag(config);
  if (shared !== undefined) {
    const set = (['fsync', 'fsync-interval'] as const).find((key) => parsed.sources[key] !== 'default');
    if (set !== undefined) {
      throw usageError(`--${set} applies to the embedded file store only, not with ${shared}`);
    }
  }
  if (config.authMaxTokenAge !== undefined && config.authSecret === undefined) {
    throw usageError('--auth-max-token-age does nothing without --auth-secret (no tokens are checked)');
  }
  if (config.fsyncIntervalMs !== undefined && config.fsync !== 'interval') {
    throw usageError(`--fsync-interval does nothing with --fsync ${config.fsync} (use --fsync interval)`);
  }
  if (config.backupEvery !== undefined && config.backupDir === undefined) {
    throw usageError('--backup-every needs --backup-dir (where the archives go)');
  }
  if (
    config.backupEvery === undefined &&
    (config.backupDir !== undefined || config.backupKeep !== undefined)
  ) {
    const given = config.backupDir !== undefined ? '--backup-dir' : '--backup-keep';
    throw usageError(`${given} does nothing without --backup-every (how often to back up)`);
  }
  return { help: false, config, sources: parsed.sources };
}

/** The object without the keys zod left undefined (optional properties are absent, not undefined). */
function withoutUndefined<T extends object>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
