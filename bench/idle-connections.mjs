/**
 * idle-connections: 10,000 synced, idle WebSocket clients on one server process — its resident
 * memory, versus the y-websocket reference server and Hocuspocus measured in the same run
 * (issue 7, scenario 3: RSS < 300 MB in total, and below the reference server).
 *
 * The spread: 1,000 documents × 10 clients. Every document holds a small real state: the first
 * 1,000 edits of the automerge-paper trace typed into a `Y.Text` (`text`), plus a map key
 * (`bench.k`) holding the document's marker `~M<docId>.0~` (the update size is in the params).
 *
 * Each sample starts a fresh server process (servers.mjs), with its inspector on a loopback port,
 * and runs the clients in a fresh Node process (`runInChild`):
 * 1. a full garbage collection in the server (`HeapProfiler.collectGarbage` over the inspector),
 *    then its RSS (VmRSS of /proc/<pid>/status) before any connection;
 * 2. one `SyncClient` per document (raw ws, sync protocol), which answers the server's sync
 *    step 1 with the document's state: the server now holds the 1,000 documents (ystate writes
 *    them to its file store);
 * 3. the other 9,000 clients, as new clients with nothing of their own to send, each checking
 *    that the server's sync step 2 carries its document's marker (every client must get its
 *    document's state: the sample fails otherwise);
 * clients open 500 at a time, the next batch once these have synced (the listen backlog here is
 * 4,096). Then nothing is sent for `settleMs` (pings aside: every server pings every 30 s) and the
 * RSS is read as it is (`serverRssSettledMB`: it still holds whatever garbage connecting left, so
 * it depends on when V8 last collected), then again after a full garbage collection
 * (`serverRssMB`: what the connections keep). Per connection = (RSS after − RSS before, both after
 * a full GC) ÷ 10,000; it includes the 1,000 documents (and for ystate their open logs).
 * Also recorded: the server's peak RSS (VmHWM), the CPU it spent connecting everyone, and the
 * generator's RSS (10,000 sockets and the 1,000 documents' Y.Docs).
 *
 * Variants: `ystate serve` with its default embedded file store, the y-websocket reference server
 * (`@y/websocket-server`, documents in memory; first peer), Hocuspocus 4 (on Node 22, in memory,
 * no extension; second peer), y-websocket 2.1.0's server (an older peer: the same server code,
 * without y-leveldb loaded at start),
 * and the floor: a bare `ws` server that keeps each document's state as the one message its first
 * client sent (fan-out-relay-server.mjs): what Node and `ws` cost per socket.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { loadSequentialTrace } from '@ystate/core/testing/traces';
import * as Y from 'yjs';
import {
  closeClients,
  collectGarbage,
  inspectorOptions,
  openClients,
  peerVariant,
  round,
  serverVariants,
  startVariantServer,
} from './fan-out-clients.mjs';
import { runInChild, runScenario } from './harness.mjs';
import { NODE_22 } from './node-22.mjs';
import { processUsage } from './servers.mjs';

/** Clients opened at once (the next batch waits until these have synced). */
const BATCH = 500;
/** After a full GC, before the RSS is read. */
const GC_SETTLE_MS = 1000;
/** Edits of the automerge-paper trace in each document's text. */
const EDITS = 1000;

/**
 * ystate's and the peers' variants, and y-websocket 2.1.0's server as an older peer: the same
 * server code as `@y/websocket-server`, which however loads y-leveldb (and its native LevelDB)
 * at start even with no persistence configured — memory is what this scenario compares.
 */
const variants = [...serverVariants.slice(0, -1), peerVariant('y-websocket-2'), serverVariants.at(-1)];

await runScenario({
  name: 'idle-connections',
  title: 'Idle connections: 10,000 synced clients (1,000 documents × 10) on one server — RSS',
  versions: [
    '@ystate/server',
    '@ystate/file',
    'yjs',
    'ws',
    '@y/websocket-server',
    '@hocuspocus/server-4',
    NODE_22,
    'y-websocket',
  ],
  sizes: {
    smoke: { documents: 20, clientsPerDocument: 10, settleMs: 500, rounds: 1 },
    full: { documents: 1000, clientsPerDocument: 10, settleMs: 3000, rounds: 3 },
  },
  metrics: [
    { key: 'serverRssMB', label: 'server RSS, connected, after GC', unit: 'MB', primary: true, target: 300 },
    { key: 'serverRssSettledMB', label: 'server RSS, connected, no GC', unit: 'MB', target: 300 },
    { key: 'perConnectionKB', label: 'RSS per connection', unit: 'KB' },
    { key: 'serverRssBeforeMB', label: 'server RSS before connecting', unit: 'MB' },
    { key: 'generatorRssMB', label: 'generator RSS', unit: 'MB' },
  ],
  setup,
  child,
});

function setup(size) {
  const state = documentState();
  const connections = size.documents * size.clientsPerDocument;
  return {
    params: {
      connections,
      documents: size.documents,
      clientsPerDocument: size.clientsPerDocument,
      documentState: `first ${EDITS} edits of automerge-paper in a Y.Text, plus a marker key: a ${state.byteLength}-byte update`,
      connectBatch: BATCH,
      settleMs: size.settleMs,
      rss: 'VmRSS of the server process: after a full GC before any connection; settleMs after the last client synced (no GC); then after a full GC',
      gc: 'HeapProfiler.collectGarbage through the inspector (every server runs with --inspect=127.0.0.1:<port>), then 1 s',
      isolation: 'a fresh server process and a fresh generator process per sample',
    },
    variants: variants.map((variant) => ({
      id: variant.id,
      label: variant.label,
      role: variant.role,
      run: async () => {
        const inspector = await inspectorOptions();
        const server = await startVariantServer(variant, { nodeArgs: inspector.nodeArgs });
        try {
          return await runInChild(import.meta.url, {
            url: server.url,
            dialect: server.dialect,
            pid: server.pid,
            inspectorPort: inspector.port,
            documents: size.documents,
            clientsPerDocument: size.clientsPerDocument,
            settleMs: size.settleMs,
            state: Buffer.from(state).toString('base64'),
          });
        } finally {
          await server.close();
        }
      },
    })),
  };
}

/** The text part of every document's state: the first edits of the trace, as one update. */
function documentState() {
  const trace = loadSequentialTrace('automerge-paper');
  const edits = trace.txns.flatMap((txn) => txn.patches).slice(0, EDITS);
  const ydoc = new Y.Doc();
  const text = ydoc.getText('text');
  for (const [pos, del, insert] of edits) {
    if (del > 0) text.delete(pos, del);
    if (insert) text.insert(pos, insert);
  }
  const state = Y.encodeStateAsUpdate(ydoc);
  ydoc.destroy();
  return state;
}

/** One sample in the generator process: RSS before, connect everyone, settle, RSS after. */
async function child({ url, dialect, pid, inspectorPort, documents, clientsPerDocument, settleMs, state }) {
  const server = { url, dialect };
  const base = Buffer.from(state, 'base64');
  const docIds = Array.from({ length: documents }, (_, d) => `doc-${d}`);
  // Each document: the shared text, plus its own marker.
  const docs = docIds.map((docId) => {
    const ydoc = new Y.Doc();
    Y.applyUpdate(ydoc, base);
    ydoc.getMap('bench').set('k', `~M${docId}.0~`);
    return ydoc;
  });
  const stateBytes = Y.encodeStateAsUpdate(docs[0]).byteLength;
  let withState = 0;
  const expectMarker = (docId) => {
    const wanted = `${docId}.0`;
    let seen = false;
    return (marker) => {
      if (marker === wanted && !seen) {
        seen = true;
        withState++;
      }
    };
  };
  let clients = [];
  try {
    await collectGarbage(inspectorPort);
    const before = processUsage(pid);
    const start = performance.now();
    // One client per document first: it gives the server the document's state.
    const seeds = await openClients(
      server,
      docIds.map((docId, d) => ({ docId, doc: docs[d] })),
      { batch: BATCH },
    );
    clients = seeds;
    // Then the others, documents interleaved, as new clients with nothing of their own (they
    // answer the server's step 1 with an empty update); each must receive its document's state.
    const specs = [];
    for (let c = 1; c < clientsPerDocument; c++) {
      for (const docId of docIds) specs.push({ docId, onMarker: expectMarker(docId) });
    }
    clients = clients.concat(await openClients(server, specs, { batch: BATCH }));
    const connectMs = performance.now() - start;
    const connected = processUsage(pid);
    await sleep(settleMs);
    const settled = processUsage(pid);
    await collectGarbage(inspectorPort);
    // Let the collector's concurrent sweeping hand the freed pages back before reading.
    await sleep(GC_SETTLE_MS);
    const after = processUsage(pid);
    const connections = clients.length;
    const missingState = specs.length - withState;
    if (missingState > 0) {
      throw new Error(`${missingState} of ${specs.length} clients did not get their document's state`);
    }
    return {
      serverRssMB: after.rssMB,
      serverRssSettledMB: settled.rssMB,
      perConnectionKB: ((after.rssMB - before.rssMB) * 1024) / connections,
      serverRssBeforeMB: before.rssMB,
      generatorRssMB: process.memoryUsage.rss() / 2 ** 20,
      serverRssConnectedMB: connected.rssMB,
      serverPeakRssMB: after.peakRssMB,
      connectMs: round(connectMs, 0),
      connectServerCpuSeconds: round(connected.cpuSeconds - before.cpuSeconds),
      connections,
      clientsCheckedForState: specs.length,
      documentStateBytes: stateBytes,
      verified: true,
    };
  } finally {
    await closeClients(clients);
  }
}
