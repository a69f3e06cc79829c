/**
 * Monitoring and error handling, live: `ystate serve --config ystate.json` with auth, JSON logs,
 * limits and alert thresholds; the client of client.mjs provokes every refusal it handles, over
 * HTTP and over y-websocket, and reacts to each; then what the server's /metrics and logs say.
 *
 * `node examples/monitoring/index.mjs` (a temp data directory, removed at the end).
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, isYStateClientError } from '@ystate/client';
import { serve, ystate } from '@ystate/example-launcher';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { tokenProtocols, watchConnection, writePatch } from './client.mjs';

const show = (label, value) =>
  console.log(`${label.padEnd(22)}${typeof value === 'string' ? value : JSON.stringify(value)}`);
const data = await mkdtemp(join(tmpdir(), 'ystate-monitoring-'));
const env = { YSTATE_AUTH_SECRET: randomBytes(24).toString('base64url') };
const server = await serve(
  ['--port', '0', '--data', data, '--config', fileURLToPath(new URL('./ystate.json', import.meta.url))],
  { env },
);
show('server', `${server.url} (ystate.json: auth, limits, alerts, JSON logs)`);

const token = async (...args) => (await ystate(['token', ...args], { env })).stdout.trim();
// Minted up front, in parallel (each is a `ystate token` process): writer, forged (signed with a
// secret the server no longer has, say from before a rotation), reader, a token for other documents.
const [writerToken, forgedToken, readerToken, otherDocsToken] = await Promise.all([
  token('--grant', 'team/**:write', '--sub', 'writer'),
  token('--secret', 'the-old-secret'),
  token('--grant', 'team/**', '--read-only'),
  token('--grant', 'public/**'),
]);
/** Where an application would ask its auth service for a new token. */
const freshToken = async () => writerToken;

/** Prints a reaction; `observed` collects the codes the server answered with. */
const observed = [];
const onReaction = ({ code, status, close, reaction }) => {
  observed.push(code);
  console.log(
    `refused  ${code.padEnd(19)}${(status ? `HTTP ${status}` : `close ${close}`).padEnd(11)}→ ${reaction}`,
  );
};
const outcome = (text) => console.log(`${''.padEnd(41)}= ${text}`);

// ---- HTTP, through @ystate/client ----------------------------------------------------------------
const DOC = 'team/board';
// A token signed with a secret the server no longer has (say, before a rotation): 401, then a fresh one.
const client = createClient({ url: server.url, token: forgedToken });
await writePatch(client, DOC, [{ op: 'add', path: '/title', value: 'Launch' }], { freshToken, onReaction });
outcome(`title ${JSON.stringify((await client.get(DOC, { path: '/title' })).value)}`);

await writePatch(client, DOC, [{ op: 'add', path: '/orders/o-1', value: { item: 'tea' } }], { onReaction });
outcome(`orders ${JSON.stringify((await client.get(DOC, { path: '/orders' })).value)}`);

// Optimistic concurrency: decrement the stock if it is still what we read; someone else got there first.
await client.patch(DOC, [{ op: 'add', path: '/stock', value: 5 }]);
await client.patch(DOC, [{ op: 'replace', path: '/stock', value: 4 }]); // the other client
const decrement = (stock) => [
  { op: 'test', path: '/stock', value: stock },
  { op: 'replace', path: '/stock', value: stock - 1 },
];
await writePatch(client, DOC, decrement(5), { rebuild: (state) => decrement(state.stock), onReaction });
outcome(`stock ${(await client.get(DOC, { path: '/stock' })).value}`);

for (const [ops, what] of [
  [[{ op: 'add', path: '/title/subtitle', value: 'x' }], 'a member of a string'],
  [[{ op: 'frobnicate', path: '/title' }], 'an unknown op'],
]) {
  await writePatch(client, DOC, ops, { onReaction }).catch((error) => {
    if (!isYStateClientError(error)) throw error;
    outcome(`gave up on ${what}: ${error.message}`);
  });
}

const big = (n) => 'x'.repeat(n * 1024);
const { seqs } = await writePatch(
  client,
  DOC,
  [
    { op: 'add', path: '/attachments', value: [big(300)] },
    { op: 'add', path: '/attachments/-', value: big(300) },
  ],
  { onReaction },
);
outcome(`sent as ${seqs.length} patches (seqs ${seqs.join(', ')})`);

let written = 0;
try {
  for (;;) {
    await writePatch(client, 'team/archive', [{ op: 'add', path: `/part${written}`, value: big(450) }], {
      onReaction,
    });
    written++;
  }
} catch (error) {
  if (!isYStateClientError(error) || error.code !== 'DOCUMENT_TOO_LARGE') throw error;
  outcome(`stopped writing team/archive after ${written} parts of 450 kB (maxDocumentBytes 2 MiB)`);
}

const reader = createClient({ url: server.url, token: readerToken });
await writePatch(reader, DOC, [{ op: 'add', path: '/title', value: 'mine' }], { onReaction }).catch(
  (error) => {
    if (!isYStateClientError(error)) throw error;
    outcome(`gave up: ${error.message}`);
  },
);

// ---- WebSocket, through the stock y-websocket provider -------------------------------------------
/** A provider on `docId` with `token`, watched by client.mjs; resolves once `event` happens. */
function connect(docId, tokenValue, options = {}) {
  const ydoc = new Y.Doc();
  const provider = new WebsocketProvider(server.wsUrl, docId, ydoc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    protocols: tokenProtocols(tokenValue),
  });
  const reacted = new Promise((resolve) => {
    watchConnection(provider, {
      freshToken,
      onReaction: (reaction) => {
        onReaction(reaction);
        resolve(reaction);
      },
      slowDown: options.slowDown,
    });
  });
  const close = () => {
    provider.destroy();
    provider.awareness.destroy();
  };
  return { ydoc, provider, reacted, close };
}
const synced = (provider) => new Promise((resolve) => provider.once('sync', resolve));
const admin = createClient({ url: server.url, token: writerToken });
/** Resolves with the server's value at `path` once `check` holds for it (re-read every 50 ms, up to 15 s). */
async function serverHas(docId, path, check) {
  for (const deadline = Date.now() + 15_000; ; ) {
    const value = await admin.get(docId, { path }).then(
      (read) => read.value,
      () => undefined,
    );
    if (value !== undefined && check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${docId}${path} is ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// An expired or forged token: 4401, then the provider reconnects with a fresh one.
{
  const c = connect(DOC, forgedToken);
  await c.reacted;
  await synced(c.provider);
  outcome(`reconnected and synced: title ${JSON.stringify(c.ydoc.getMap('state').get('title'))}`);
  c.close();
}
// A token for other documents: 4403, disconnect for good.
{
  const c = connect(DOC, otherDocsToken);
  await c.reacted;
  outcome(`provider stopped: shouldConnect ${c.provider.shouldConnect}`);
  c.close();
}
// One update larger than maxMessageBytes (1 MiB): 4413.
{
  const c = connect('team/notes', writerToken);
  await synced(c.provider);
  c.ydoc.getMap('state').set('body', big(1200));
  await c.reacted;
  outcome(`provider stopped; the local copy keeps ${c.ydoc.getMap('state').get('body').length} characters`);
  c.close();
}
// 300 edits as 300 messages at once, over messagesPerSecond (100): 4429; then fewer, larger transactions.
{
  let batched = false;
  const c = connect('team/tally', writerToken, { slowDown: () => (batched = true) });
  await synced(c.provider);
  c.ydoc.getMap('state').set('items', new Y.Array());
  for (let i = 0; i < 300; i++) c.ydoc.getMap('state').get('items').push([i]);
  await c.reacted;
  // The provider reconnects by itself; its sync step 2 sends the server everything it lacks.
  const items = await serverHas('team/tally', '/items', (value) => value.length === 300);
  outcome(
    `resynced after reconnecting: the server has ${items.length} items; batching from now on: ${batched}`,
  );
  c.close();
}
// Content with no JSON form (binary): 4400 INVALID_VALUE.
{
  const c = connect('team/blob', writerToken);
  await synced(c.provider);
  c.ydoc.getMap('state').set('image', new Uint8Array([137, 80, 78, 71]));
  await c.reacted;
  outcome('provider stopped; nothing of it reached the log');
  c.close();
}

// ---- What the server reports ---------------------------------------------------------------------
const metrics = await (await fetch(`${server.url}/metrics`)).text();
const families = [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
show('metric families', families);
const errors = Object.fromEntries(
  [...metrics.matchAll(/^ystate_errors_total\{code="([^"]+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]),
);
show('ystate_errors_total', errors);
const readyz = await (await fetch(`${server.url}/readyz`)).json();
show('/readyz', readyz);
const refusals = server.records.filter((r) => r.code !== undefined);
const warnings = server.records.filter((r) => r.level >= 40);
show(
  'log records',
  `${server.records.length} JSON lines: ${refusals.length} WebSocket refusals, ${warnings.length} warnings; e.g.`,
);
for (const record of [refusals.at(-1), ...warnings.filter((r) => r.alert !== undefined)])
  console.log(JSON.stringify(record));
show('codes observed', [...new Set(observed)]);

await server.stop();
await rm(data, { recursive: true, force: true });
