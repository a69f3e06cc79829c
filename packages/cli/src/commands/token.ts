/**
 * `ystate token --secret S [--grant PATTERN[:read|write]]… [--read-only] [--expires D] [--sub ID]`:
 * mints an HS256 JWT that a server started with `--auth-secret S` accepts, with the claims
 * docs/server.md defines (`sub`, `iat`, `exp`, `ystate.docs`), signed with jose like the server
 * verifies it. The token goes to stdout, what it grants to stderr.
 */

import { compilePattern } from '@ystate/core';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { type CliContext, type CommandHelp, runCommand } from '../command.js';
import { nonEmptyString, usageError } from '../options.js';
import { durationSchema } from '../serve-options.js';

/** What a grant gives on the documents its pattern matches. */
type Access = 'read' | 'write';

/** `projects/*:write`, `public/**:read`, `users/alice` (write). */
const grantSchema = z
  .string()
  .trim()
  .transform((text, context): [pattern: string, access: Access] => {
    const match = /^(.*?)(?::(read|write))?$/.exec(text);
    const pattern = match?.[1] ?? '';
    const access = (match?.[2] ?? 'write') as Access;
    try {
      if (pattern === '' || pattern.startsWith('/')) throw new Error('empty or absolute');
      compilePattern(`/${pattern}`);
    } catch {
      context.addIssue({
        code: 'custom',
        message:
          'expected a docId pattern with an optional :read or :write, such as projects/*:write or public/**:read',
      });
      return z.NEVER;
    }
    return [pattern, access];
  });

/** How long a token is valid when `--expires` is not given. */
const DEFAULT_EXPIRY_MS = 3_600_000;

/** `--expires`: a duration, or `never` (a token without `exp`). */
const expirySchema = z.union([z.literal('never'), durationSchema]);

const SPEC = {
  name: 'token',
  options: {
    secret: {
      env: 'YSTATE_AUTH_SECRET',
      config: false,
      value: 'SECRET',
      schema: nonEmptyString,
      fallback: undefined,
      help: 'the HS256 secret the server was started with (--auth-secret)',
    },
    grant: {
      value: 'PATTERN[:read|write]',
      schema: z.array(grantSchema),
      fallback: undefined,
      multiple: true,
      help: 'documents the token opens, repeatable; * is one docId segment, ** any (default: ** — every document)',
    },
    expires: {
      value: 'DURATION',
      schema: expirySchema,
      fallback: undefined,
      help: 'how long the token is valid: 30m, 1h, 7d, or never (default 1h)',
    },
    sub: {
      value: 'ID',
      schema: nonEmptyString,
      fallback: 'ystate-token',
      help: 'the principal id (`sub`), recorded as the origin of its changes',
    },
  },
  switches: {
    'read-only': { help: 'every grant is read: the token syncs and reads but never writes' },
  },
  positionals: { names: [], required: 0 },
} as const;

const HELP: CommandHelp = {
  usage: 'ystate token --secret SECRET [--grant PATTERN[:read|write]]… [--read-only] [--expires DURATION]',
  description: [
    'Prints a JWT (HS256) for a server started with --auth-secret SECRET. Its claims are those of',
    'docs/server.md: "sub", "iat", "exp" and "ystate": { "docs": { PATTERN: "read" | "write" } }. A grant',
    'without :read or :write is write; --read-only makes every grant read. Give it to clients as',
    '`?token=`, `Authorization: Bearer`, or the WebSocket subprotocol `ystate.token.<JWT>`.',
  ],
  examples: [
    'ystate token --secret "$YSTATE_AUTH_SECRET" --grant "projects/*:write" --grant "public/**:read"',
    'ystate token --grant "docs/42" --read-only --expires 15m   # secret from YSTATE_AUTH_SECRET',
    'curl -H "Authorization: Bearer $(ystate token --grant "docs/*")" http://127.0.0.1:1234/api/docs/docs%2F1/state',
  ],
};

/** Runs `ystate token`. */
export function tokenCommand(argv: readonly string[], context: CliContext): Promise<number> {
  return runCommand(
    SPEC,
    HELP,
    argv,
    context,
    ({ values, switches }) => {
      if (values.secret === undefined) {
        throw usageError(
          'missing --secret (or YSTATE_AUTH_SECRET): the secret the server checks tokens with',
        );
      }
      const docs: Record<string, Access> = {};
      for (const [pattern, access] of values.grant ?? [['**', 'write'] as const]) {
        // Repeated patterns: the widest access wins, as the server reads grants.
        docs[pattern] = switches['read-only'] ? 'read' : docs[pattern] === 'write' ? 'write' : access;
      }
      return { secret: values.secret, docs, expires: values.expires ?? DEFAULT_EXPIRY_MS, sub: values.sub };
    },
    async ({ secret, docs, expires, sub }, io) => {
      const now = Math.floor(Date.now() / 1000);
      let jwt = new SignJWT({ ystate: { docs } })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(sub)
        .setIssuedAt(now);
      if (expires !== 'never') jwt = jwt.setExpirationTime(now + Math.round(expires / 1000));
      const token = await jwt.sign(new TextEncoder().encode(secret));
      const grants = Object.entries(docs)
        .map(([pattern, access]) => `${pattern} ${access}`)
        .join(', ');
      const until =
        expires === 'never'
          ? 'never expires'
          : `expires ${new Date((now + Math.round(expires / 1000)) * 1000).toISOString()}`;
      io.note(`token for "${sub}": ${grants}; ${until}`);
      await io.print(token);
      return undefined;
    },
  );
}
