/**
 * Authentication and authorization: where a token is found, how it is verified (jose), how its
 * `ystate.docs` claim becomes grants, and what access a principal has to a document.
 */

import type { IncomingMessage } from 'node:http';
import { compilePattern, ErrorCode, type PathPattern, YStateError } from '@ystate/core';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { z } from 'zod';
import type { Access, AuthOptions, Grant, Principal } from './options.js';

/** The subprotocol that carries a token: `ystate.token.<JWT>`, offered next to `ystate`. */
export const TOKEN_PROTOCOL_PREFIX = 'ystate.token.';
/** The subprotocol the server selects when the client offers it. */
export const PROTOCOL = 'ystate';

const claimSchema = z.object({ docs: z.record(z.string(), z.enum(['read', 'write'])) });

/** Verifies tokens and turns them into principals. */
export interface Authenticator {
  verify(token: string): Promise<Principal>;
}

/** Builds the verifier for the configured keys; throws INVALID_CONFIG when none is given. */
export function createAuthenticator(options: AuthOptions): Authenticator {
  const secret =
    typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  const keySet =
    options.jwks === undefined
      ? undefined
      : options.jwks instanceof URL
        ? createRemoteJWKSet(options.jwks)
        : createLocalJWKSet(options.jwks);
  if (secret === undefined && options.publicKey === undefined && keySet === undefined) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: 'auth needs a secret, a publicKey or a jwks',
    });
  }
  if (secret !== undefined && secret.byteLength === 0) {
    throw new YStateError({ code: ErrorCode.INVALID_CONFIG, message: 'the auth secret is empty' });
  }
  const { maxTokenAge } = options;
  if (maxTokenAge !== undefined && !(Number.isFinite(maxTokenAge) && maxTokenAge > 0)) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `maxTokenAge must be a positive number of seconds, not ${maxTokenAge}`,
    });
  }
  const verifyOptions: Parameters<typeof jwtVerify>[2] = {};
  if (options.issuer !== undefined) verifyOptions.issuer = options.issuer;
  if (options.audience !== undefined) verifyOptions.audience = options.audience;
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        const { alg } = decodeProtectedHeader(token);
        const hmac = typeof alg === 'string' && alg.startsWith('HS');
        if (hmac && secret !== undefined) {
          ({ payload } = await jwtVerify(token, secret, {
            ...verifyOptions,
            algorithms: ['HS256', 'HS384', 'HS512'],
          }));
        } else if (!hmac && options.publicKey !== undefined) {
          ({ payload } = await jwtVerify(token, options.publicKey, verifyOptions));
        } else if (!hmac && keySet !== undefined) {
          ({ payload } = await jwtVerify(token, keySet as JWTVerifyGetKey, verifyOptions));
        } else {
          throw unauthorized(`tokens signed with ${String(alg)} are not accepted`);
        }
      } catch (cause) {
        if (cause instanceof YStateError) throw cause;
        throw unauthorized(reasonOf(cause), cause);
      }
      return principalOf(payload);
    },
  };
}

/** The principal of verified claims: `sub` and the grants of the `ystate.docs` claim. */
export function principalOf(claims: JWTPayload): Principal {
  const parsed = claimSchema.safeParse(claims.ystate ?? { docs: {} });
  if (!parsed.success) {
    throw unauthorized('the token\'s "ystate" claim must be { "docs": { "<pattern>": "read" | "write" } }');
  }
  const grants: Grant[] = Object.entries(parsed.data.docs).map(([pattern, access]) => {
    try {
      compiled(pattern);
    } catch (cause) {
      // An invalid pattern makes the token invalid rather than silently useless.
      throw unauthorized(`the token grants an invalid document pattern "${pattern}"`, cause);
    }
    return { pattern, access };
  });
  return { id: typeof claims.sub === 'string' ? claims.sub : 'anonymous', grants, claims };
}

/** When a principal's token stops being accepted (ms since the epoch), and what the refusal says. */
export interface TokenExpiry {
  readonly at: number;
  readonly message: string;
}

/**
 * When the token behind `principal` stops being accepted: its `exp`; without one, with
 * `maxTokenAge` (seconds), its `iat` (else `since`, ms) plus that age; undefined when never.
 */
export function expiryOf(
  principal: Principal,
  maxTokenAge: number | undefined,
  since: number,
): TokenExpiry | undefined {
  const { exp, iat } = principal.claims;
  if (typeof exp === 'number') return { at: exp * 1000, message: 'the token has expired' };
  if (maxTokenAge === undefined) return undefined;
  const issued = typeof iat === 'number' ? iat * 1000 : since;
  return {
    at: issued + maxTokenAge * 1000,
    message: `the token is older than the maximum token age (${maxTokenAge} s)`,
  };
}

/** The access a principal has to a document: the widest of its matching grants. */
export function accessOf(principal: Principal, docId: string): Access | undefined {
  const segments = docId.split('/');
  let access: Access | undefined;
  for (const grant of principal.grants) {
    if (!compiled(grant.pattern).matches(segments)) continue;
    if (grant.access === 'write') return 'write';
    access = 'read';
  }
  return access;
}

/** The token of a request: `?token=`, then `Authorization: Bearer`, then the WebSocket subprotocol. */
export function tokenOf(request: IncomingMessage, query: URLSearchParams): string | undefined {
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  const authorization = request.headers.authorization;
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  for (const protocol of offeredProtocols(request)) {
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX) && protocol.length > TOKEN_PROTOCOL_PREFIX.length) {
      return protocol.slice(TOKEN_PROTOCOL_PREFIX.length);
    }
  }
  return undefined;
}

/** The subprotocols a WebSocket client offered. */
export function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * The subprotocol to answer with: `ystate` when offered, else the first one that carries no token,
 * else the token one (browsers fail a handshake that offers protocols and gets none back).
 */
export function selectProtocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(PROTOCOL)) return PROTOCOL;
  const list = [...offered];
  return list.find((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX)) ?? list[0] ?? false;
}

export function unauthorized(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.UNAUTHORIZED, message, cause });
}

export function forbidden(message: string): YStateError {
  return new YStateError({ code: ErrorCode.FORBIDDEN, message });
}

const patterns = new Map<string, PathPattern>();

function compiled(pattern: string): PathPattern {
  let result = patterns.get(pattern);
  if (result === undefined) {
    result = compilePattern(`/${pattern}`);
    // Patterns come from tokens: keep the cache bounded.
    if (patterns.size >= 10_000) patterns.clear();
    patterns.set(pattern, result);
  }
  return result;
}

function reasonOf(cause: unknown): string {
  if (cause instanceof errors.JWTExpired) return 'the token has expired';
  if (cause instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (cause instanceof errors.JWTClaimValidationFailed)
    return `the token's "${cause.claim}" claim is not accepted`;
  if (cause instanceof errors.JOSEError) return `the token is invalid (${cause.code})`;
  return 'the token is malformed';
}
