/**
 * Samples what a running Node process allocates — garbage included — through its inspector, and
 * prints where it comes from: the functions whose calls allocate most (inclusive), ystate's and
 * its dependencies'. CPU profiles say where time goes; under many small writes much of it is the
 * garbage collector, and this says who makes the garbage.
 *
 *   node bench/allocation-profile.mjs PORT [--wait S] [--seconds S] [--out FILE.heapprofile]
 *
 * PORT is the process's inspector (`--inspect=127.0.0.1:PORT`); it is polled until it answers,
 * then the script waits `--wait` seconds (default 3: past start-up and warm-up), samples for
 * `--seconds` (default 8) with V8's sampling heap profiler (every ~4 KB allocated, objects
 * collected by minor and major GCs kept in the profile), and writes the profile to `--out`, which
 * Chrome DevTools opens (Memory → Load). For example, ystate under the fan-out-many load:
 *
 *   YSTATE_BENCH_NODE_ARGS='--inspect=127.0.0.1:9301' \
 *     node bench/fan-out-many.mjs --variants ystate --rounds 1 &
 *   node bench/allocation-profile.mjs 9301 --wait 12 --out /tmp/ystate.heapprofile
 */

import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    wait: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    out: { type: 'string' },
  },
});
const port = Number(positionals[0]);
if (!Number.isInteger(port))
  throw new Error('usage: allocation-profile.mjs PORT [--wait S] [--seconds S] [--out FILE]');

const target = await inspectorTarget(port);
const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
const pending = new Map();
let lastId = 0;
ws.on('message', (data) => {
  const message = JSON.parse(data.toString());
  pending.get(message.id)?.(message);
  pending.delete(message.id);
});
const call = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = ++lastId;
    pending.set(id, (message) =>
      message.error ? reject(new Error(message.error.message)) : resolve(message.result),
    );
    ws.send(JSON.stringify({ id, method, params }));
  });

await sleep(Number(values.wait) * 1000);
await call('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
console.log(`sampling allocations for ${values.seconds} s`);
await sleep(Number(values.seconds) * 1000);
const { profile } = await call('HeapProfiler.stopSampling');
ws.close();
if (values.out) {
  writeFileSync(values.out, JSON.stringify(profile));
  console.log(`wrote ${values.out}`);
}
report(profile, Number(values.seconds));

/** Polls the inspector's target list until the process answers (it may still be starting). */
async function inspectorTarget(at) {
  for (let attempt = 0; ; attempt++) {
    try {
      const [first] = await (await fetch(`http://127.0.0.1:${at}/json/list`)).json();
      if (first) return first;
    } catch (error) {
      if (attempt >= 300) throw error;
    }
    await sleep(100);
  }
}

/** Prints the allocation rate and the functions that allocate most, inclusive of their callees. */
function report({ head }, seconds) {
  let total = 0;
  const inclusive = new Map();
  const walk = (node, stack) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-3).join('/')}:${lineNumber + 1}`;
    const path = new Set(stack).add(key);
    total += node.selfSize;
    if (node.selfSize > 0)
      for (const frame of path) inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.selfSize);
    for (const child of node.children ?? []) walk(child, path);
  };
  walk(head, []);
  console.log(
    `${(total / 2 ** 20).toFixed(1)} MB allocated (${(total / 2 ** 20 / seconds).toFixed(1)} MB/s)`,
  );
  const rows = [...inclusive]
    .filter(([key]) => !key.startsWith('(') && !/ (node:|internal\/)/.test(key))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 40);
  for (const [key, bytes] of rows) console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${key}`);
}
