/**
 * Distributed state across services: two `ystate serve` nodes on one Redis; an API process that
 * writes orders over HTTP, a worker process that packs them over y-websocket, and a browser-style
 * y-websocket client that watches (and places an order of its own). Then node A is SIGKILLed and
 * everyone carries on through node B; node A comes back and has everything from Redis.
 *
 * `node examples/distributed-services/index.mjs` (uses `REDIS_URL` if set, else starts a
 * `redis-server` on a free port).
 */

import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { StateDocument } from '@ystate/core';
import { redis, serve, startNode } from '@ystate/example-launcher';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';

const DOC = 'shop/orders';
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const show = (label, value) =>
  console.log(`${label.padEnd(24)}${typeof value === 'string' ? value : JSON.stringify(value)}`);

const store = await redis();
show('redis', `${store.url}${store.started ? ' (started for this example)' : ''}`);
const nodeArgs = ['--port', '0', '--redis', store.url];
const nodeA = await serve(nodeArgs);
const nodeB = await serve(nodeArgs);
show('node A', nodeA.url);
show('node B', nodeB.url);

// The API writes through node A first, the worker works on node A first; both fall back to node B.
const api = await startNode(here('./api.mjs'), [`${nodeA.url},${nodeB.url}`]);
const worker = await startNode(here('./worker.mjs'), [`${nodeA.wsUrl},${nodeB.wsUrl}`, 'worker-1'], {
  onLine: (line) => show('  worker', line),
});
show('api', `${api.ready.url} (writes to node A, then B)`);
show('worker', 'worker-1 on node A (then B)');

// The browser-style client: a StateDocument synced with node B by the stock y-websocket provider.
const board = new StateDocument(DOC);
const browser = new WebsocketProvider(nodeB.wsUrl, DOC, board.ydoc, {
  WebSocketPolyfill: WebSocket,
  disableBc: true,
});
await new Promise((resolve) => browser.once('sync', resolve));
show('browser', 'y-websocket on node B');

/** Resolves once the browser's copy satisfies `check` (it is re-checked on every change it sees). */
function browserSees(check, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const done = () => {
      if (!check(board.get('/orders') ?? {})) return;
      clearTimeout(timer);
      stop();
      resolve();
    };
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(`the browser did not see ${what} in ${timeoutMs} ms: ${JSON.stringify(board.toJSON())}`),
      );
    }, timeoutMs);
    const stop = board.subscribe('/orders/**', done);
    done();
  });
}

const acknowledged = [];
async function placeOrder(item) {
  const res = await fetch(`${api.ready.url}/orders`, { method: 'POST', body: JSON.stringify({ item }) });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`the API refused ${item}: ${JSON.stringify(body)}`);
  acknowledged.push(body.id);
  show(
    `  api placed ${item}`,
    `${body.id} at seq ${body.seq} via ${body.node === nodeA.url ? 'node A' : 'node B'}`,
  );
}

const summary = (orders) => {
  const all = Object.values(orders);
  return { orders: all.length, packed: all.filter((o) => o.status === 'packed').length };
};
const allPacked = (n) => (orders) => summary(orders).orders === n && summary(orders).packed === n;

for (const item of ['tea', 'mugs', 'kettle']) await placeOrder(item);
board.set('/orders/web-1', { item: 'biscuits', status: 'new', placedAt: new Date().toISOString() });
await browserSees(allPacked(4), 'four packed orders');
show('before the kill', summary(board.get('/orders')));

// Three orders at once, and node A SIGKILLed while they are on their way: those it had not answered
// fail with NETWORK_ERROR at the API, which sends them again to node B.
const inFlight = ['sugar', 'milk', 'spoons'].map(placeOrder);
await nodeA.stop('SIGKILL');
show('node A killed', 'SIGKILL, with three orders in flight');
await Promise.all(inFlight);
board.set('/orders/web-2', { item: 'napkins', status: 'new', placedAt: new Date().toISOString() });
await browserSees(allPacked(8), 'eight packed orders');
show('after the kill', summary(board.get('/orders')));
show(
  'packed by',
  Object.values(board.get('/orders'))
    .map((o) => o.packedBy)
    .filter((v, i, a) => a.indexOf(v) === i),
);

const onB = await (await fetch(`${nodeB.url}/api/docs/${encodeURIComponent(DOC)}/state?path=/orders`)).json();
show(
  'api orders on node B',
  `${acknowledged.filter((id) => onB[id] !== undefined).length}/${acknowledged.length}`,
);

// Node A comes back: a fresh process, its state read from Redis.
const nodeA2 = await serve(nodeArgs);
const onA = await (await fetch(`${nodeA2.url}/api/docs/${encodeURIComponent(DOC)}/state`)).json();
show('node A restarted', summary(onA.orders));
// Compared as values: each side lists an object's keys in the order it first learnt them.
const agree = isDeepStrictEqual(onA, board.toJSON());
show(
  'nodes agree',
  agree ? 'true' : `false: node A ${JSON.stringify(onA)}, browser ${JSON.stringify(board.toJSON())}`,
);

// y-websocket's provider leaves its Awareness's timer running: destroy both.
browser.destroy();
browser.awareness.destroy();
worker.child.kill('SIGTERM');
api.child.kill('SIGTERM');
await Promise.all([worker.exited, api.exited, nodeB.stop(), nodeA2.stop()]);
await store.stop();
