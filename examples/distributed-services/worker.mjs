/**
 * The worker: a backend process that holds `shop/orders` live over the stock `y-websocket`
 * provider (the same protocol as a browser) and packs every order whose status is `new`: it sets
 * `status: "packed"` and `packedBy` on its local copy, which the provider sends to its ystate node,
 * which logs it and hands it to every other node through Redis.
 *
 * `node worker.mjs ws://node-a:1234,ws://node-b:1234 NAME`: the nodes, used in order. When its
 * connection closes and the node does not come back, the worker moves to the next node with the
 * same `Y.Doc`: the resync sends the server what it lacks (its edits made while disconnected) and
 * brings what it missed. Prints `{"worker": NAME}` once synced, then `packed <id> <item>` per order.
 */

import { StateDocument } from '@ystate/core';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';

const DOC = 'shop/orders';
const urls = (process.argv[2] ?? 'ws://127.0.0.1:1234').split(',');
const name = process.argv[3] ?? `worker-${process.pid}`;

const doc = new StateDocument(DOC);
let current = 0;
const provider = new WebsocketProvider(urls[current], DOC, doc.ydoc, {
  WebSocketPolyfill: WebSocket,
  disableBc: true,
});

// y-websocket retries the same URL forever; after two failed attempts in a row, try the next node.
let failures = 0;
provider.on('status', ({ status }) => {
  if (status === 'connected') failures = 0;
});
provider.on('connection-close', () => {
  if (++failures < 2 || urls.length < 2) return;
  failures = 0;
  current = (current + 1) % urls.length;
  provider.serverUrl = urls[current];
  console.error(`${name}: moving to ${urls[current]}`);
});

function packNewOrders() {
  const orders = doc.get('/orders') ?? {};
  for (const [id, order] of Object.entries(orders)) {
    if (order.status !== 'new') continue;
    doc.batch((tx) => {
      tx.set(`/orders/${id}/status`, 'packed');
      tx.set(`/orders/${id}/packedBy`, name);
    });
    console.log(`packed ${id} ${order.item}`);
  }
}

provider.once('sync', () => {
  console.log(JSON.stringify({ worker: name }));
  packNewOrders();
  // After the change has been applied (not inside Yjs's observer); packing is idempotent.
  doc.subscribe('/orders/**', () => queueMicrotask(packNewOrders));
});

process.once('SIGTERM', () => {
  provider.destroy();
  process.exit(0);
});
