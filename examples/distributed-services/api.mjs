/**
 * The API service: a plain `node:http` process that takes orders (`POST /orders {"item": …}`) and
 * writes each into the shared document `shop/orders` through ystate's HTTP API, with
 * `@ystate/client`. It answers `201 {"id", "seq"}` only once a ystate node's log holds the order
 * (a ystate PATCH answers only then), so an order the API acknowledged survives any node's death.
 *
 * `node api.mjs http://node-a:1234,http://node-b:1234`: the ystate nodes, tried in order. A node
 * that does not answer (killed, restarting) is skipped and the next one is used from then on:
 * what a load balancer in front of the nodes does for you in production. Prints
 * `{"url": "http://127.0.0.1:PORT"}` once it listens (PORT: `$PORT`, else any free port).
 */

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createClient, isYStateClientError } from '@ystate/client';

const DOC = 'shop/orders';
const nodes = (process.argv[2] ?? 'http://127.0.0.1:1234').split(',').map((url) => createClient({ url }));
let current = 0;

/** Writes `ops`, moving on to the next node while the current one does not answer. */
async function patch(ops) {
  for (let tried = 0; ; tried++) {
    const used = current;
    try {
      return { ...(await nodes[used].patch(DOC, ops, { baseSeq: null })), node: nodes[used].options.url };
    } catch (error) {
      const unreachable =
        isYStateClientError(error) && (error.code === 'NETWORK_ERROR' || error.status === 503);
      if (!unreachable || tried >= nodes.length) throw error;
      // Requests in flight together all fail on the same node: move on from that one only once.
      if (current === used) {
        current = (used + 1) % nodes.length;
        console.error(`api: ${nodes[used].options.url} does not answer (${error.code}); using the next node`);
      }
    }
  }
}

const server = createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST' || req.url !== '/orders') return reply(404, { error: 'POST /orders only' });
  let body = '';
  for await (const chunk of req) body += chunk;
  let item;
  try {
    ({ item } = JSON.parse(body));
  } catch {}
  if (typeof item !== 'string' || item === '') return reply(400, { error: 'expected {"item": "…"}' });
  const id = `o-${randomUUID().slice(0, 8)}`;
  try {
    // The id is chosen before the first attempt, so a retry on another node after an answer that
    // never came (the change may be in the log already) writes the same order again, not a second one.
    const { seq, node } = await patch([
      {
        op: 'add',
        path: `/orders/${id}`,
        value: { item, status: 'new', placedAt: new Date().toISOString() },
      },
    ]);
    reply(201, { id, seq, node });
  } catch (error) {
    reply(502, { error: isYStateClientError(error) ? error.code : String(error) });
  }
});

// The orders live in one object keyed by order id (concurrent orders never fight over an index);
// the first API process to start creates it.
try {
  await nodes[current].get(DOC, { path: '/orders' });
} catch (error) {
  if (!isYStateClientError(error, 'PATH_NOT_FOUND')) throw error;
  await patch([{ op: 'add', path: '/orders', value: {} }]);
}

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
// Every order it acknowledged is already in a ystate log: nothing to flush.
process.once('SIGTERM', () => process.exit(0));
