/**
 * Measures the effect of ystate's tuning knobs on this machine and prints one table:
 *
 * - fsync policy (`ystate serve --fsync always|interval|never`): latency of one PATCH at a time,
 *   and PATCHes per second with 32 in flight, through the HTTP API;
 * - granularity (`new Engine({ granularity })`): what typing one character every 2 ms costs in log
 *   entries, fsyncs and bytes, and how long each keystroke waits for its acknowledgement;
 * - checkpoints (`checkpointEvery`): checkpoint bytes stored (the file store keeps the newest 3 to
 *   6), entries replayed to rebuild the state 90% through the history and the time it takes, the
 *   time to load the document cold (its latest checkpoint, then the entries after it);
 * - limits (`"limits": { "messagesPerSecond" }` in the config file): a client that sends a burst of
 *   updates, one message each: closed with 4429 or not, and how long until the server has them all
 *   (after a close, y-websocket reconnects and its resync sends them in one message).
 *
 * `node examples/performance-tuning/measure.mjs [--quick]` (`--quick`: small sizes, a few seconds;
 * the numbers then say little). `--json` prints the rows as JSON instead of a table.
 */

import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { collaborativeText, Engine } from '@ystate/core';
import { serve } from '@ystate/example-launcher';
import { openFileLog } from '@ystate/file';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const quick = process.argv.includes('--quick');
const size = quick
  ? {
      sequential: 10,
      concurrent: 40,
      keystrokes: 30,
      entries: 150,
      checkpoints: [25, 1000],
      rates: [100, 1000],
      burst: 300,
    }
  : {
      sequential: 300,
      concurrent: 2000,
      keystrokes: 500,
      entries: 3000,
      checkpoints: [100, 1000],
      rates: [100, 300, 1000],
      burst: 1000,
    };
const rows = [];
const row = (knob, setting, measured) => {
  rows.push({ knob, setting, ...measured });
  if (!process.argv.includes('--json')) process.stderr.write(`measured ${knob} ${setting}\n`);
};
const work = await mkdtemp(join(tmpdir(), 'ystate-tuning-'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value) => Math.round(value * 100) / 100;
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return ms(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
};
async function bytesIn(dir, suffix) {
  let total = 0;
  for (const name of await readdir(dir))
    if (name.endsWith(suffix)) total += (await stat(join(dir, name))).size;
  return total;
}

// ---- fsync policies, through `ystate serve` and its HTTP API ---------------------------------------
for (const fsync of ['always', 'interval', 'never']) {
  const data = join(work, `fsync-${fsync}`);
  const server = await serve(['--port', '0', '--data', data, '--fsync', fsync]);
  const url = `${server.url}/api/docs/bench/state`;
  const patch = (value) =>
    fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/n', value }]),
    }).then((res) => {
      if (!res.ok) throw new Error(`PATCH answered ${res.status}`);
      return res.arrayBuffer();
    });
  await patch(0);
  const latencies = [];
  for (let i = 0; i < size.sequential; i++) {
    const start = performance.now();
    await patch(i);
    latencies.push(performance.now() - start);
  }
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < size.concurrent) await patch(next++);
    }),
  );
  const perSecond = Math.round(size.concurrent / ((performance.now() - start) / 1000));
  row('fsync', fsync, {
    'PATCH p50 (ms)': percentile(latencies, 50),
    'PATCH p99 (ms)': percentile(latencies, 99),
    'PATCH/s, 32 in flight': perSecond,
  });
  await server.stop();
}

// ---- granularity, through the Engine (a library option) -------------------------------------------
const granularities = [
  ['update', { mode: 'update' }],
  ['transaction', { mode: 'transaction' }],
  ['window 50 ms', { mode: 'window', windowMs: 50 }],
  ['window 500 ms', { mode: 'window', windowMs: 500 }],
  ['lifecycle', { mode: 'lifecycle' }],
];
for (const [name, granularity] of granularities) {
  const dir = join(work, `granularity-${name.replace(/ /g, '-')}`);
  const log = await openFileLog({ dir });
  const engine = new Engine({ log, granularity });
  await engine.write('notes', (tx) => tx.set('/text', collaborativeText('')), { origin: 'ann' });
  const before = { ...log.stats };
  const acks = [];
  for (let i = 0; i < size.keystrokes; i++) {
    const start = performance.now();
    acks.push(
      engine
        .write('notes', (tx) => tx.spliceText('/text', i, 0, 'a'), { origin: 'ann' })
        .then(() => performance.now() - start),
    );
    await sleep(2);
  }
  const latencies = await Promise.all(acks);
  await engine.flush();
  const head = await log.head('notes');
  const stats = log.stats;
  row('granularity', name, {
    'log entries': head,
    fsyncs: stats.syncs - before.syncs,
    'log bytes': await bytesIn(dir, '.log'),
    'ack p50 (ms)': percentile(latencies, 50),
    'ack p99 (ms)': percentile(latencies, 99),
  });
  await engine.close();
  await log.close();
}

// ---- checkpoints ---------------------------------------------------------------------------------
const never = { entries: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER };
const checkpointSettings = [
  ['warm-up', never], // not reported: the first round in a fresh process also measures the JIT
  [`entries ${size.checkpoints[0]}`, { entries: size.checkpoints[0] }],
  [`entries ${size.checkpoints[0]}, sizeFraction 0`, { entries: size.checkpoints[0], sizeFraction: 0 }],
  [`entries ${size.checkpoints[1]}`, { entries: size.checkpoints[1] }],
  ['never', never],
];
for (const [setting, checkpointEvery] of checkpointSettings) {
  const dir = join(work, `checkpoints-${setting.replace(/\W+/g, '-')}`);
  // One write at a time (fsync off to keep it quick): writes in flight together are appended
  // together, and a checkpoint is considered after each append, not after each entry.
  let log = await openFileLog({ dir, fsync: 'never' });
  let engine = new Engine({ log, checkpointEvery });
  await engine.write('list', (tx) => tx.set('/items', []));
  for (let i = 0; i < size.entries; i++) await engine.write('list', (tx) => tx.push('/items', { i }));
  await engine.close();
  await log.close();

  log = await openFileLog({ dir });
  engine = new Engine({ log, checkpointEvery });
  let start = performance.now();
  const doc = await engine.open('list');
  const load = performance.now() - start;
  if (doc.get('/items').length !== size.entries) throw new Error('the document did not load whole');
  // Time travel to 90% of the history: the nearest checkpoint before it, then the entries after it
  // (the file store keeps the newest 3 to 6 checkpoints, so older points replay from further back).
  const point = Math.floor(size.entries * 0.9);
  start = performance.now();
  await engine.stateAt('list', { seq: point });
  const travel = performance.now() - start;
  const nearest = await log.latestCheckpoint('list', point);
  if (setting !== 'warm-up')
    row('checkpointEvery', setting, {
      'checkpoint bytes': await bytesIn(dir, '.ckpt'),
      'entries replayed for stateAt 90%': point - (nearest?.seq ?? 0),
      'stateAt 90% (ms)': ms(travel),
      'cold load (ms)': ms(load),
    });
  engine.release('list');
  await engine.close();
  await log.close();
}

// ---- limits: messages per second ------------------------------------------------------------------
for (const messagesPerSecond of size.rates) {
  const config = join(work, `limits-${messagesPerSecond}.json`);
  await writeFile(config, JSON.stringify({ limits: { messagesPerSecond } }));
  const server = await serve([
    '--port',
    '0',
    '--data',
    join(work, `limits-${messagesPerSecond}`),
    '--config',
    config,
  ]);
  const ydoc = new Y.Doc();
  const provider = new WebsocketProvider(server.wsUrl, 'burst', ydoc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
  });
  await new Promise((resolve) => provider.once('sync', resolve));
  let closedWith = 'none';
  provider.on('connection-close', (event) => {
    closedWith = event?.code ?? closedWith;
  });
  const items = new Y.Array();
  ydoc.getMap('state').set('items', items);
  const start = performance.now();
  for (let i = 0; i < size.burst; i++) items.push([i]); // one transaction, one message each
  // Until the server has them all: at once, or after the close, the provider's reconnection and resync.
  const url = `${server.url}/api/docs/burst/state?path=/items`;
  while ((await (await fetch(url)).json()).length !== size.burst) await sleep(20);
  row('limits.messagesPerSecond', String(messagesPerSecond), {
    'updates sent at once': size.burst,
    'closed with': closedWith,
    'all on the server after (ms)': Math.round(performance.now() - start),
  });
  provider.destroy();
  provider.awareness.destroy();
  await server.stop();
}

await rm(work, { recursive: true, force: true });

if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
else printTable(rows);

/** One markdown table per knob (their columns differ). */
function printTable(all) {
  for (const knob of [...new Set(all.map((r) => r.knob))]) {
    const group = all.filter((r) => r.knob === knob);
    const columns = Object.keys(group[0]).filter((c) => c !== 'knob');
    console.log(`\n| ${knob} | ${columns.slice(1).join(' | ')} |`);
    console.log(`| ${columns.map(() => '---').join(' | ')} |`);
    for (const r of group) console.log(`| ${columns.map((c) => r[c]).join(' | ')} |`);
  }
}
