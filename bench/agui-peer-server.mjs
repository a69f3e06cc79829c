/**
 * The peer of the `agui` scenario's fan-out: an AG-UI state server written the way the AG-UI SDK
 * suggests, without ystate. A plain `node:http` server in its own process that keeps one
 * document's state as plain JSON and
 * - `PATCH /api/docs/:docId/state` (an RFC 6902 patch, the body `ystate serve` takes too): builds
 *   the next snapshot with structural sharing (only the containers on the patched paths are
 *   copied), computes the STATE_DELTA by diffing the previous and the next snapshot with
 *   `fast-json-patch`'s `compare`, frames it once with `@ag-ui/encoder`'s `EventEncoder` and writes
 *   it to every subscriber; answers `{ ok: true }` once written;
 * - `GET /api/docs/:docId/events`: `text/event-stream`, a STATE_SNAPSHOT, then every STATE_DELTA.
 * No persistence, no backpressure handling (Node buffers whatever a slow subscriber does not read),
 * no auth: the fastest honest version of "diff and broadcast". Prints `agui-peer listening <port>`
 * once listening. Usage: `node bench/agui-peer-server.mjs '{"port":1234}'`.
 */

import { createServer } from 'node:http';
import { EventType } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import fastJsonPatch from 'fast-json-patch';

const { compare } = fastJsonPatch;
const { port } = JSON.parse(process.argv[2] ?? '{}');
const encoder = new EventEncoder();

/** The document's JSON; replaced (never mutated) by each change. */
let state = {};
/** The open event streams. */
const subscribers = new Set();

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && /^\/api\/docs\/[^/]+\/events$/.test(path)) {
    res.writeHead(200, {
      'content-type': encoder.getContentType(),
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
    });
    res.write(encoder.encodeSSE({ type: EventType.STATE_SNAPSHOT, snapshot: state }));
    subscribers.add(res);
    res.once('close', () => subscribers.delete(res));
    return;
  }
  if (req.method === 'PATCH' && /^\/api\/docs\/[^/]+\/state$/.test(path)) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      let patch;
      try {
        patch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!Array.isArray(patch)) throw new Error('not a JSON Patch');
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
        return;
      }
      const next = patch.reduce(applyShared, state);
      const delta = compare(state, next);
      state = next;
      if (delta.length > 0) {
        const frame = encoder.encodeSSE({ type: EventType.STATE_DELTA, delta });
        for (const subscriber of subscribers) subscriber.write(frame);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    return;
  }
  res.writeHead(404);
  res.end();
});

/**
 * `op` applied to `doc` without changing it: the containers on the op's path are copied, the rest
 * is shared with `doc` (what an immutable-state app does, and what lets `compare` skip the
 * unchanged subtrees by identity). Supports add, replace and remove, which is what the bench sends.
 */
function applyShared(doc, op) {
  const keys = op.path
    .split('/')
    .slice(1)
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (keys.length === 0) return op.op === 'remove' ? null : op.value;
  const set = (node, depth) => {
    const copy = Array.isArray(node) ? node.slice() : { ...node };
    const key = keys[depth];
    if (depth < keys.length - 1) {
      copy[key] = set(copy[key], depth + 1);
      return copy;
    }
    if (Array.isArray(copy)) {
      const index = key === '-' ? copy.length : Number(key);
      if (op.op === 'add') copy.splice(index, 0, op.value);
      else if (op.op === 'replace') copy[index] = op.value;
      else copy.splice(index, 1);
    } else if (op.op === 'remove') delete copy[key];
    else copy[key] = op.value;
    return copy;
  };
  return set(doc, 0);
}

server.listen(port ?? 0, '127.0.0.1', () => {
  console.log(`agui-peer listening ${server.address().port}`);
});
process.once('SIGTERM', () => {
  for (const subscriber of subscribers) subscriber.end();
  server.close(() => process.exit(0));
});
