/** Small HTTP helpers: JSON answers, the error body, bounded body reading, and errors as YStateErrors. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ErrorCode,
  httpStatusOf,
  type Json,
  parsePointer,
  toYStateError as wrap,
  YStateError,
} from '@ystate/core';

/** Any thrown value as a YStateError; unknown errors become INTERNAL_ERROR (their details stay in the logs). */
export function toYStateError(error: unknown): YStateError {
  return wrap(error, { code: ErrorCode.INTERNAL_ERROR, message: 'internal error', detail: false });
}

/** Answers with a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Answers `{ "error": { "code", "message" } }` with the code's HTTP status. */
export function sendError(
  res: ServerResponse,
  error: YStateError,
  headers: Record<string, string> = {},
): void {
  sendJson(res, httpStatusOf(error.code), error.toJSON(), headers);
}

/** Reads a request body of at most `limit` bytes; MESSAGE_TOO_LARGE beyond it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** The value at a JSON Pointer in plain JSON (undefined when nothing is there). */
export function valueAt(json: Json, pointer: string): Json | undefined {
  let node: Json | undefined = json;
  for (const segment of parsePointer(pointer)) {
    if (Array.isArray(node)) {
      node = /^(0|[1-9][0-9]*)$/.test(segment) ? node[Number(segment)] : undefined;
    } else if (node !== null && typeof node === 'object') {
      node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

function tooLarge(limit: number): YStateError {
  return new YStateError({
    code: ErrorCode.MESSAGE_TOO_LARGE,
    message: `the request body is over the limit of ${limit} bytes`,
  });
}
