/**
 * Keeping secrets out of logs: tokens travel in query strings (`?token=`), `Authorization` and
 * cookies, so a URL is logged with its query values masked, and loggers censor header fields.
 * Shared by every ystate logger (the server's default one, the CLI's).
 */

const MASK = '***';

/** Query keys kept as they are: short names. Anything else (a bare `?<token>`) is masked whole. */
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * A URL fit for logs: every query value and the fragment replaced by `***` (keys kept, so
 * `/state?path=***&token=***`), and the password of an absolute URL too.
 */
export function redactRequestUrl(url: string): string {
  const withoutPassword = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${MASK}@`);
  const hash = withoutPassword.indexOf('#');
  const beforeHash = hash === -1 ? withoutPassword : withoutPassword.slice(0, hash);
  const fragment = hash === -1 ? '' : `#${MASK}`;
  const q = beforeHash.indexOf('?');
  if (q === -1) return beforeHash + fragment;
  const query = beforeHash
    .slice(q + 1)
    .split('&')
    .map((part) => {
      if (part === '') return part;
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      if (!PLAIN_KEY.test(key)) return MASK;
      return eq === -1 ? key : `${key}=${MASK}`;
    })
    .join('&');
  return `${beforeHash.slice(0, q)}?${query}${fragment}`;
}

/** Fields a logger masks wherever a record (or a request in it) carries them. */
const REDACTED_PATHS = [
  'url',
  '*.url',
  'token',
  '*.token',
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
];

/** A logger's redaction rule: the fields to censor, and what each becomes (pino's `redact` option). */
export interface LogRedaction {
  /** The fields to censor (pino paths). */
  readonly paths: string[];
  /** What a censored field becomes. */
  readonly censor: (value: unknown, path: string[]) => unknown;
}

/**
 * pino's `redact` option for ystate's loggers: `url` fields keep their path (query values masked),
 * tokens, `Authorization` and cookie headers become `***`.
 */
export const logRedaction: LogRedaction = {
  paths: REDACTED_PATHS,
  censor: (value: unknown, path: string[]) =>
    path[path.length - 1] === 'url' && typeof value === 'string' ? redactRequestUrl(value) : MASK,
};
