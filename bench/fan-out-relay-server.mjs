/**
 * The floor of the many-client scenarios: a bare `ws` server that speaks just enough of the
 * y-websocket protocol for a `SyncClient` and does no CRDT work. A document is the URL path; on
 * connection it sends sync step 1 with an empty state vector; it answers a client's step 1 with
 * the first non-empty step 2 a client of that document sent (idle-connections' seed client: its
 * whole state) or with an empty one; it forwards every update message, as received, to the other
 * clients of the document. No Y.Doc, no decoding beyond the first two bytes, no persistence.
 * What the same load generator measures against it is what the generator, `ws` and the kernel's
 * loopback cost by themselves.
 * Started by fan-out-clients.mjs: `node fan-out-relay-server.mjs <port>`.
 */

import { WebSocketServer } from 'ws';

const MESSAGE_SYNC = 0;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
/** Sync step 1 with an empty state vector; sync step 2 with an empty update. */
const STEP1_EMPTY = Uint8Array.of(MESSAGE_SYNC, SYNC_STEP1, 1, 0);
const STEP2_EMPTY = Uint8Array.of(MESSAGE_SYNC, SYNC_STEP2, 2, 0, 0);

const port = Number(process.argv[2]);
/** Per document: its sockets, and the step 2 message that holds its state (if a client sent one). */
const rooms = new Map();

const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws, request) => {
  const docId = (request.url ?? '/').slice(1);
  let room = rooms.get(docId);
  if (room === undefined) {
    room = { sockets: new Set(), state: undefined };
    rooms.set(docId, room);
  }
  room.sockets.add(ws);
  ws.on('close', () => {
    room.sockets.delete(ws);
    if (room.sockets.size === 0 && room.state === undefined) rooms.delete(docId);
  });
  ws.on('error', () => {});
  ws.on('message', (data) => {
    if (data[0] !== MESSAGE_SYNC) return;
    if (data[1] === SYNC_STEP1) {
      ws.send(room.state ?? STEP2_EMPTY);
    } else if (data[1] === SYNC_STEP2) {
      // A non-empty step 2 (more than the 2-byte empty update) is a client's state.
      if (room.state === undefined && data.byteLength > STEP2_EMPTY.byteLength) room.state = data;
    } else if (data[1] === SYNC_UPDATE) {
      for (const other of room.sockets) if (other !== ws) other.send(data);
    }
  });
  ws.send(STEP1_EMPTY);
});
wss.on('listening', () => console.log(`relay listening on ${port}`));
process.once('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  wss.close(() => process.exit(0));
});
