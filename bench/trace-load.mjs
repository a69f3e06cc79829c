/**
 * trace-load: the automerge-paper trace written as one log entry per edit, then loaded cold.
 *
 * Setup (not timed): the edits are applied to a Y.Text at `/text` of a StateDocument and every
 * Yjs update it emits is captured (one per edit, plus the one creating the text); the updates are
 * appended as one entry each to a file store (and kept in a file for the other variants).
 *
 * Each sample runs in a fresh process and times one cold load to the loaded document:
 * - ystate, file store: `openFileLog` on the store directory, `new Engine`, `engine.open()`;
 * - ystate, memory log: `new Engine` over a `MemoryUpdateLog` holding the entries, `engine.open()`;
 * - Yjs (the peer, the floor): `Y.applyUpdate` of every update, one by one, to a fresh `Y.Doc`
 *   from an in-memory array: no I/O, no entry decoding, no chunking.
 * Every sample checks that the loaded text equals the expected text (`endContent` at full size).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, MemoryUpdateLog } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import * as Y from 'yjs';
import { frameUpdates, measure, runInChild, runScenario, unframeUpdates } from './harness.mjs';
import { captureTraceUpdates } from './trace-updates.mjs';

const DOC_ID = 'paper';
/** Entries per append while writing the log (setup only). */
const APPEND_BATCH = 1000;

const variants = [
  { id: 'ystate-file', label: 'ystate, file store', role: 'ours' },
  { id: 'ystate-memory', label: 'ystate, memory log', role: 'ours' },
  { id: 'yjs', label: 'Yjs applyUpdate', role: 'peer' },
];

await runScenario({
  name: 'trace-load',
  title: 'Cold load of the automerge-paper trace, one log entry per edit',
  versions: ['@ystate/core', '@ystate/file', 'yjs', 'lib0'],
  sizes: {
    smoke: { edits: 5_000, rounds: 3 },
    full: { edits: 259_778, rounds: 5 },
  },
  metrics: [
    { key: 'timeMs', label: 'time to loaded', unit: 'ms', primary: true },
    { key: 'maxBlockMs', label: 'longest event-loop block', unit: 'ms', target: 50 },
    { key: 'rssDeltaMB', label: 'RSS growth', unit: 'MB' },
  ],
  setup,
  child,
});

/** Captures the updates, writes the file store and the files the children read. */
async function setup(size) {
  const { updates, expected, captureMs } = captureTraceUpdates(size.edits);

  const dir = await mkdtemp(join(tmpdir(), 'ystate-bench-trace-load-'));
  writeFileSync(join(dir, 'expected.txt'), expected);
  writeFileSync(join(dir, 'updates.bin'), frameUpdates(updates));

  const started = performance.now();
  const store = join(dir, 'store');
  const log = await openFileLog({ dir: store, fsync: 'never' });
  for (let i = 0; i < updates.length; i += APPEND_BATCH) {
    await log.append(DOC_ID, updates.slice(i, i + APPEND_BATCH).map(entryOf));
  }
  const head = await log.head(DOC_ID);
  await log.close();
  const writeMs = performance.now() - started;
  if (head !== updates.length) throw new Error(`the file store holds ${head} entries, not ${updates.length}`);

  return {
    params: {
      trace: 'automerge-paper',
      edits: size.edits,
      entries: updates.length,
      updateBytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
      textLength: expected.length,
      engineLoadChunk: 500,
      isolation: 'each sample in a fresh Node process (--expose-gc, gc before timing)',
    },
    setup: {
      captureMs: Math.round(captureMs),
      fileWriteMs: Math.round(writeMs),
      fileWriteFsync: 'never',
      fileStoreBytes: await directorySize(store),
    },
    variants: variants.map((variant) => ({
      ...variant,
      run: () => runInChild(import.meta.url, { variant: variant.id, dir }),
    })),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** One sample, in a fresh process: prepares what the variant starts from, then times the cold load. */
async function child({ variant, dir }) {
  const expected = readFileSync(join(dir, 'expected.txt'), 'utf8');
  let result;
  let text;
  if (variant === 'ystate-file') {
    result = await measure(async () => {
      const log = await openFileLog({ dir: join(dir, 'store') });
      const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
      return { log, engine, doc: await engine.open(DOC_ID) };
    });
    text = result.value.doc.get('/text');
    await result.value.engine.close();
    await result.value.log.close();
  } else if (variant === 'ystate-memory') {
    const log = new MemoryUpdateLog();
    const updates = unframeUpdates(readFileSync(join(dir, 'updates.bin')));
    for (let i = 0; i < updates.length; i += APPEND_BATCH) {
      await log.append(DOC_ID, updates.slice(i, i + APPEND_BATCH).map(entryOf));
    }
    result = await measure(async () => {
      const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
      return { engine, doc: await engine.open(DOC_ID) };
    });
    text = result.value.doc.get('/text');
    await result.value.engine.close();
  } else if (variant === 'yjs') {
    const updates = unframeUpdates(readFileSync(join(dir, 'updates.bin')));
    result = await measure(() => {
      const ydoc = new Y.Doc();
      for (const update of updates) Y.applyUpdate(ydoc, update);
      return ydoc;
    });
    text = result.value.getMap('state').get('text')?.toString();
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  if (text !== expected) throw new Error(`${variant}: the loaded text differs from the expected text`);
  const { timeMs, maxBlockMs, rssDeltaMB } = result;
  return { timeMs, maxBlockMs, rssDeltaMB, verified: true };
}

function entryOf(payload) {
  return { kind: 'update', time: Date.now(), origin: 'author', flags: 0, payload };
}

async function directorySize(dir) {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}
