/**
 * Persistence and recovery with `ystate serve` and the embedded file log:
 *
 * 1. a server is SIGKILLed while writers have requests in flight, and restarted: every write it
 *    had acknowledged is there;
 * 2. `ystate backup` of the store;
 * 3. a mistake (someone deletes the task list), then more work on top of it;
 * 4. time travel to before the mistake (`GET …/state?at=SEQ`, `?at=TIME`, `ystate replay --to`),
 *    and an undo of that one entry that keeps the later work;
 * 5. the data directory is deleted, `ystate restore` brings the backup back, history included.
 *
 * `node examples/persistence-recovery/index.mjs [DIR]` (default: a new temp directory, removed at
 * the end).
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, isYStateClientError } from '@ystate/client';
import { serve, ystate } from '@ystate/example-launcher';

const DOC = 'team/board';
const WRITERS = 8;
const ACKED_BEFORE_KILL = 120;
const show = (label, value) =>
  console.log(`${label.padEnd(38)}${typeof value === 'string' ? value : JSON.stringify(value)}`);

const work = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'ystate-persistence-')));
const data = join(work, 'data');
const archive = join(work, 'board.ystate-backup');
const store = ['--data', data];
show('data directory', data);

// 1. SIGKILL while writing. --fsync always (the default): an append is on disk before it is acknowledged.
let server = await serve(['--port', '0', ...store]);
let client = createClient({ url: server.url });
await client.patch(DOC, [{ op: 'add', path: '/events', value: [] }]);

const acknowledged = [];
let inFlight = 0;
let inFlightAtKill = 0;
let killed;
async function writer(w) {
  for (let i = 0; ; i++) {
    const id = `w${w}-${i}`;
    inFlight++;
    try {
      // baseSeq null: append at the end of the list as it is now, whatever this writer saw.
      await client.patch(DOC, [{ op: 'add', path: '/events/-', value: id }], { baseSeq: null });
    } catch (error) {
      if (killed && isYStateClientError(error) && error.code === 'NETWORK_ERROR') return;
      throw error;
    } finally {
      inFlight--;
    }
    if (killed) return; // answered while the kill was under way: not counted
    acknowledged.push(id);
    if (acknowledged.length === ACKED_BEFORE_KILL) {
      inFlightAtKill = inFlight;
      killed = server.stop('SIGKILL');
    }
  }
}
await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
await killed;
show('acknowledged, then SIGKILL', `${acknowledged.length} writes acknowledged, ${inFlightAtKill} in flight`);

server = await serve(['--port', '0', ...store]);
client = createClient({ url: server.url });
const { value: afterCrash } = await client.get(DOC);
const present = new Set(afterCrash.events);
show(
  'acknowledged writes after restart',
  `${acknowledged.filter((id) => present.has(id)).length}/${acknowledged.length} present`,
);
show(
  'unacknowledged writes that made it',
  `${present.size - acknowledged.filter((id) => present.has(id)).length} (in the log before the kill, never answered)`,
);

// 2. Some real state, then a backup. The file store is locked by its server: stop it (SIGTERM
// flushes and exits 0) or use `ystate serve --backup-every` for scheduled backups of a running one.
await client.patch(DOC, [
  { op: 'add', path: '/tasks', value: [{ title: 'write the release notes' }, { title: 'tag v1.0' }] },
]);
await server.stop();
const backup = await ystate(['backup', ...store, '--out', archive]);
show('ystate backup', backup.stdout.trim().replaceAll(work, '…'));

// 3. The mistake: someone deletes the task list. Then someone else writes on.
server = await serve(['--port', '0', ...store]);
client = createClient({ url: server.url });
const before = await client.get(DOC);
const historyAtBackup = await client.history(DOC);
const beforeTime = new Date().toISOString();
const { seq: mistake } = await client.patch(DOC, [{ op: 'remove', path: '/tasks' }]);
await client.patch(DOC, [{ op: 'add', path: '/notes', value: 'kept: written after the mistake' }]);
show(
  'the mistake',
  `seq ${mistake}: ${JSON.stringify((await client.history(DOC, { from: mistake, to: mistake }))[0].patch)}`,
);
show('tasks now', (await client.get(DOC)).value.tasks ?? 'gone');

// 4. Time travel to before it: by seq, by time, and from the log with the CLI (read-only, beside the server).
const atSeq = await client.get(DOC, { path: '/tasks', at: before.seq });
show(`GET /state?path=/tasks&at=${before.seq}`, atSeq.value);
const atTime = await client.get(DOC, { path: '/tasks', at: beforeTime });
show('GET /state?path=/tasks&at=TIME', atTime.value);
const replay = await ystate(['replay', DOC, '--to', String(before.seq), ...store]);
show(`ystate replay --to ${before.seq}`, JSON.parse(replay.stdout).tasks);
// Undo that one entry (Yjs undo semantics: the later note stays). `POST …/revert {"to": SEQ}` would
// instead make the whole document what it was then, dropping the note too.
const undo = await client.request('POST', client.docUrl(DOC, 'undo'), {
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ origin: 'anonymous', from: mistake, to: mistake }),
});
show(`POST /undo of seq ${mistake}`, await undo.json());
const repaired = (await client.get(DOC)).value;
show('after the undo', { tasks: repaired.tasks, notes: repaired.notes });
await server.stop();

// 5. The data directory is deleted. Restore the backup into the empty store, and serve it again.
await rm(data, { recursive: true, force: true });
show('data directory deleted', `${data.replaceAll(work, '…')} (${(await readdir(work)).join(', ')} left)`);
const restore = await ystate(['restore', archive, ...store]);
show('ystate restore', restore.stdout.trim().replaceAll(work, '…'));
server = await serve(['--port', '0', ...store]);
client = createClient({ url: server.url });
const restored = await client.get(DOC);
show('restored state', {
  seq: restored.seq,
  tasks: restored.value.tasks,
  events: restored.value.events.length,
});
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
show(
  'same state and history as backed up',
  same(restored.value, before.value) && same(await client.history(DOC), historyAtBackup),
);
await server.stop();

if (process.argv[2] === undefined) await rm(work, { recursive: true, force: true });
