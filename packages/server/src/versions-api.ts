/**
 * The version routes: the JSON Patch between two points of history, revert, undo of a run or an
 * origin, and named versions. Points are a seq, a time (ISO 8601) or a version name; writes are
 * recorded under the caller's principal id (`anonymous` without auth). See docs/versions.md.
 */

import {
  ErrorCode,
  parseVersionPoint,
  type VersionPoint,
  type VersionWriteOptions,
  YStateError,
} from '@ystate/core';
import { z } from 'zod';
import { readBody, sendJson } from './http-util.js';
import type { ExtraRoute, Principal } from './options.js';
import { invalidValue, parseQuery, type RoutesContext, seqHeaders } from './routes.js';

const seq = z.number().int().min(0);
const point = z.union([
  seq.transform((value): VersionPoint => ({ seq: value })),
  z.string().min(1).transform(parseVersionPoint),
]);
const diffQuery = z.object({
  from: z.string().min(1).transform(parseVersionPoint),
  to: z.string().min(1).transform(parseVersionPoint).optional(),
});
const revertBody = z.strictObject({ to: point });
const undoBody = z.union([
  z.strictObject({ run: z.string().min(1) }),
  z.strictObject({ origin: z.string().min(1), from: seq.min(1).optional(), to: seq.min(1).optional() }),
]);
const nameBody = z.strictObject({ name: z.string(), seq: seq.optional() });
const deleteQuery = z.object({ name: z.string().min(1) });

/** The version routes under `/api/docs/:docId/`. */
export function versionRoutes(ctx: RoutesContext): ExtraRoute[] {
  const { engine } = ctx;
  return [
    {
      method: 'GET',
      path: '/api/docs/:docId/diff',
      access: 'read',
      async handler(req, res, { docId }) {
        const query = parseQuery(diffQuery, req.url);
        const diff = await engine.diff(docId, query.from, query.to ?? { seq: await engine.log.head(docId) });
        sendJson(res, 200, diff);
      },
    },
    {
      method: 'POST',
      path: '/api/docs/:docId/revert',
      access: 'write',
      async handler(req, res, { docId, principal }) {
        const { to } = await readJson(req, ctx.maxBodyBytes, revertBody);
        const result = await engine.revert(docId, to, writeOptions(ctx, docId, principal));
        sendJson(res, 200, result, seqHeaders(result.seq));
      },
    },
    {
      method: 'POST',
      path: '/api/docs/:docId/undo',
      access: 'write',
      async handler(req, res, { docId, principal }) {
        const body = await readJson(req, ctx.maxBodyBytes, undoBody);
        const result = await engine.undo(docId, body, writeOptions(ctx, docId, principal));
        sendJson(res, 200, result, seqHeaders(result.seq));
      },
    },
    {
      method: 'GET',
      path: '/api/docs/:docId/versions',
      access: 'read',
      async handler(_req, res, { docId }) {
        sendJson(res, 200, await engine.versions(docId));
      },
    },
    {
      method: 'POST',
      path: '/api/docs/:docId/versions',
      access: 'write',
      async handler(req, res, { docId, principal }) {
        const { name, seq: at } = await readJson(req, ctx.maxBodyBytes, nameBody);
        const named = await engine.nameVersion(
          docId,
          name,
          at === undefined ? { origin: originOf(principal) } : { origin: originOf(principal), seq: at },
        );
        sendJson(res, 201, named, seqHeaders(named.namedAt));
      },
    },
    {
      method: 'DELETE',
      path: '/api/docs/:docId/versions',
      access: 'write',
      async handler(req, res, { docId, principal }) {
        const { name } = parseQuery(deleteQuery, req.url);
        const deleted = await engine.deleteVersion(docId, name, { origin: originOf(principal) });
        sendJson(res, 200, deleted, seqHeaders(deleted.deletedAt));
      },
    },
  ];
}

/** The caller's origin, and the `onChange` hook offered the patch the change would make (as for a PATCH). */
function writeOptions(
  ctx: RoutesContext,
  docId: string,
  principal: Principal | undefined,
): VersionWriteOptions {
  const origin = originOf(principal);
  const onChange = ctx.hooks.onChange;
  if (onChange === undefined) return { origin };
  return {
    origin,
    beforeWrite: (patch) =>
      onChange({ transport: 'http', docId, principal, origin, patch, baseSeq: undefined }),
  };
}

function originOf(principal: Principal | undefined): string {
  return principal?.id ?? 'anonymous';
}

/** Reads a JSON body (`application/json`) and checks it against `schema`; INVALID_VALUE otherwise. */
async function readJson<T extends z.ZodType>(
  req: Parameters<ExtraRoute['handler']>[0],
  limit: number,
  schema: T,
): Promise<z.output<T>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json') {
    throw new YStateError({
      code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      message: 'send the body as application/json',
    });
  }
  const body = await readBody(req, limit);
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'the body is not valid JSON', cause });
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidValue(parsed.error);
  return parsed.data;
}
