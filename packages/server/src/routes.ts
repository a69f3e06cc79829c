/**
 * The built-in document routes — state (GET, PATCH) and history — written as `ExtraRoute`s, the same
 * shape other packages mount, plus the matcher that finds a route and its `:docId` in a URL path.
 */

import { once } from 'node:events';
import {
  type Engine,
  ErrorCode,
  type HistoricalState,
  type Json,
  parsePatch,
  textDeltaAt,
  YStateError,
} from '@ystate/core';
import * as Y from 'yjs';
import { z } from 'zod';
import { readBody, sendJson, valueAt } from './http-util.js';
import type { ServerMetrics } from './metrics.js';
import type { ExtraRoute, ServerHooks } from './options.js';
import { inSpan } from './tracing.js';

/** What the built-in routes need from the server. */
export interface RoutesContext {
  readonly engine: Engine;
  readonly hooks: ServerHooks;
  readonly metrics: ServerMetrics;
  readonly maxBodyBytes: number;
}

/** A route, compiled for matching. */
export interface CompiledRoute {
  readonly route: ExtraRoute;
  /** The path's segments before and after `:docId`. */
  readonly before: readonly string[];
  readonly after: readonly string[];
}

const PATCH_TYPES = new Set(['application/json-patch+json', 'application/json']);

const seqString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative integer')
  .transform(Number);
const stateQuery = z
  .object({
    path: z.string().optional(),
    at: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
    /** `delta`: the formatting of the Y.Text at `path` (docs/json-form.md), instead of its JSON. */
    format: z.enum(['json', 'delta']).optional(),
  })
  .refine((query) => query.at === undefined || query.version === undefined, 'give at or version, not both');
const historyQuery = z.object({ from: seqString.optional(), to: seqString.optional() });
const ifMatch = z
  .string()
  .regex(/^\s*(W\/)?"?(0|[1-9][0-9]*)"?\s*$/, 'If-Match must be a seq, such as "12"')
  .transform((value) => Number(/(\d+)/.exec(value)?.[1]));

/** Compiles a route path; it must have exactly one `:docId` segment. */
export function compileRoute(route: ExtraRoute): CompiledRoute {
  const segments = route.path.split('/');
  const at = segments.indexOf(':docId');
  if (!route.path.startsWith('/') || at === -1 || segments.lastIndexOf(':docId') !== at) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `route path "${route.path}" must start with "/" and have one ":docId" segment`,
    });
  }
  return { route, before: segments.slice(0, at), after: segments.slice(at + 1) };
}

/**
 * The docId a path gives a route (its segments between the fixed parts, each URL-decoded, joined
 * with "/" — so both `projects%2F42` and `projects/42` name `projects/42`), or undefined.
 */
export function matchRoute(compiled: CompiledRoute, segments: readonly string[]): string | undefined {
  const { before, after } = compiled;
  if (segments.length < before.length + after.length + 1) return undefined;
  for (let i = 0; i < before.length; i++) if (segments[i] !== before[i]) return undefined;
  const tail = segments.length - after.length;
  for (let i = 0; i < after.length; i++) if (segments[tail + i] !== after[i]) return undefined;
  let docId: string;
  try {
    docId = segments.slice(before.length, tail).map(decodeURIComponent).join('/');
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: 'the docId is not valid URL encoding',
      cause,
    });
  }
  return docId === '' ? undefined : docId;
}

/** The formatting of the Y.Text at `pointer` in a document state given as a Yjs update. */
function deltaIn(update: Uint8Array, pointer: string): Json[] {
  const ydoc = new Y.Doc();
  try {
    Y.applyUpdate(ydoc, update);
    return textDeltaAt(ydoc, pointer);
  } finally {
    ydoc.destroy();
  }
}

/** The built-in document routes. */
export function documentRoutes(ctx: RoutesContext): ExtraRoute[] {
  const { engine } = ctx;
  return [
    {
      method: 'GET',
      path: '/api/docs/:docId/state',
      access: 'read',
      async handler(req, res, { docId }) {
        const query = parseQuery(stateQuery, req.url);
        const pointer = query.path ?? '';
        const delta = query.format === 'delta';
        const read = (state: HistoricalState): Json | undefined =>
          delta ? deltaIn(state.update, pointer) : valueAt(state.json, pointer);
        let value: Json | undefined;
        let seq: number;
        if (query.version !== undefined) {
          const state = await engine.versionState(docId, { version: query.version });
          value = read(state);
          seq = state.seq;
        } else if (query.at === undefined) {
          const doc = await engine.open(docId);
          try {
            value = delta ? textDeltaAt(doc.ydoc, pointer) : doc.get(pointer);
            seq = engine.seqOf(docId) ?? 0;
          } finally {
            engine.release(docId);
          }
        } else {
          const at = /^[0-9]+$/.test(query.at) ? { seq: Number(query.at) } : { time: query.at };
          const state = await engine.stateAt(docId, at);
          value = read(state);
          seq = state.seq;
        }
        if (value === undefined) {
          throw new YStateError({ code: ErrorCode.PATH_NOT_FOUND, message: `nothing at "${pointer}"` });
        }
        sendJson(res, 200, value, seqHeaders(seq));
      },
    },
    {
      method: 'PATCH',
      path: '/api/docs/:docId/state',
      access: 'write',
      async handler(req, res, { docId, principal }) {
        const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (!PATCH_TYPES.has(type)) {
          throw new YStateError({
            code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            message: 'send the patch as application/json-patch+json',
          });
        }
        const baseSeq = parseIfMatch(req.headers['if-match']);
        const body = await readBody(req, ctx.maxBodyBytes);
        let input: unknown;
        try {
          input = JSON.parse(body.toString('utf8'));
        } catch (cause) {
          throw new YStateError({
            code: ErrorCode.INVALID_PATCH,
            message: 'the body is not valid JSON',
            cause,
          });
        }
        const patch = parsePatch(input);
        const origin = principal?.id ?? 'anonymous';
        await ctx.hooks.onChange?.({ transport: 'http', docId, principal, origin, patch, baseSeq });
        const { seq } = await inSpan(
          'ystate.apply',
          { 'ystate.doc_id': docId, 'ystate.ops': patch.length },
          () => engine.applyPatch(docId, patch, baseSeq === undefined ? { origin } : { origin, baseSeq }),
        );
        ctx.metrics.updatesIn.inc({ transport: 'http' });
        sendJson(res, 200, { seq }, seqHeaders(seq));
      },
    },
    {
      method: 'GET',
      path: '/api/docs/:docId/history',
      access: 'read',
      async handler(req, res, { docId, signal }) {
        const range = parseQuery(historyQuery, req.url);
        const steps = engine.replay(docId, withoutUndefined(range));
        // The first step is read before answering, so an error (pruned history, say) is a proper status.
        let next = await steps.next();
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.write('[');
        try {
          let first = true;
          while (!next.done && !signal.aborted) {
            const more = res.write(`${first ? '' : ','}${JSON.stringify(next.value)}`);
            if (!more) await once(res, 'drain', { signal });
            first = false;
            next = await steps.next();
          }
        } finally {
          await steps.return(undefined);
        }
        res.end(']');
      },
    },
  ];
}

/** The headers that carry the seq a response names. */
export function seqHeaders(seq: number): Record<string, string> {
  return { etag: `"${seq}"`, 'x-ystate-seq': String(seq) };
}

function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const parsed = ifMatch.safeParse(header);
  if (!parsed.success) throw invalidValue(parsed.error);
  return parsed.data;
}

/** The query of a URL checked against `schema`; INVALID_VALUE otherwise. */
export function parseQuery<T extends z.ZodType>(schema: T, url: string | undefined): z.output<T> {
  const q = (url ?? '').indexOf('?');
  const params = new URLSearchParams(q === -1 ? '' : (url ?? '').slice(q + 1));
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (!parsed.success) throw invalidValue(parsed.error);
  return parsed.data;
}

/** A zod failure as INVALID_VALUE naming the first issue. */
export function invalidValue(error: z.ZodError): YStateError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return new YStateError({
    code: ErrorCode.INVALID_VALUE,
    message: `${where}${issue?.message ?? 'invalid'}`,
    cause: error,
  });
}

function withoutUndefined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
