/**
 * Stores with known history for the operator-command tests, and snapshots of what a store holds
 * (entries and checkpoints as stored, the state at every retained seq) to compare stores by.
 */

import {
  collaborativeText,
  Engine,
  type EntryInput,
  encodeLifecyclePayload,
  type Json,
  type LifecycleEvent,
  type LogEntry,
  stateAt,
  type UpdateLog,
} from '@ystate/core';
import { type CodecOptions, withCodecs } from '@ystate/core/codecs';
import { openFileLog } from '@ystate/file';
import * as Y from 'yjs';

/** The keys of the encrypted document `populate` writes. */
export const CODECS: CodecOptions = {
  compression: { thresholdBytes: 16 },
  encryption: { keys: { k1: new Uint8Array(32).fill(7) }, currentKeyId: 'k1' },
};

/**
 * Writes documents `<prefix>/projects/1` (60 updates from two writers, a Y.Text, a lifecycle
 * event, checkpoints every 20), `<prefix>/projects/2` and `<prefix>/vault` (compressed and
 * encrypted with `CODECS`) into the file store in `dir`. With `retain`, old entries are pruned
 * as a server with that retention would.
 */
export async function populate(
  dir: string,
  prefix: string,
  options: { retain?: number } = {},
): Promise<string[]> {
  const log = await openFileLog({ dir });
  const settings = {
    nodeId: 'fixture',
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    checkpointEvery: { entries: 20 },
    ...(options.retain === undefined ? {} : { retainEntries: options.retain }),
  };
  const engine = new Engine({ log, ...settings });
  const vault = new Engine({ log: withCodecs(log, CODECS), ...settings });
  const project = `${prefix}/projects/1`;
  await engine.write(
    project,
    (tx) => {
      tx.set('/notes', collaborativeText('hello'));
      tx.set('/list', []);
    },
    { origin: 'alice' },
  );
  for (let i = 0; i < 60; i++) {
    await engine.write(
      project,
      (tx) => {
        tx.set(`/k${i % 5}`, i);
        if (i % 10 === 0) tx.push('/list', { i });
      },
      { origin: i % 2 === 0 ? 'alice' : 'bob' },
    );
  }
  await engine.record(
    project,
    { type: 'event', name: 'tool-output', data: { ok: true } },
    { origin: 'agent-7' },
  );
  await engine.write(`${prefix}/projects/2`, (tx) => tx.set('/title', 'two'), { origin: 'carol' });
  for (let i = 0; i < 5; i++) {
    await vault.write(`${prefix}/vault`, (tx) => tx.set('/secret', `${'s'.repeat(40)}${i}`), {
      origin: 'dave',
    });
  }
  await engine.close();
  await vault.close();
  await log.close();
  return [project, `${prefix}/projects/2`, `${prefix}/vault`];
}

/** What a store holds of a document, comparable across stores. */
export interface DocumentSnapshot {
  docId: string;
  head: number;
  entries: StoredEntry[];
  checkpoints: StoredEntry[];
  /** `[seq, json]` for every seq replay can reach (from the one before the first retained entry). */
  states: [number, unknown][];
}

type StoredEntry = Omit<LogEntry, 'payload'> & { payload: string };

/** Snapshots `docIds` of `log` (read as stored; states decoded with `CODECS`). */
export async function snapshot(log: UpdateLog, docIds: readonly string[]): Promise<DocumentSnapshot[]> {
  const decoded = withCodecs(log, CODECS);
  const result: DocumentSnapshot[] = [];
  for (const docId of docIds) {
    const head = await log.head(docId);
    const entries = await log.read(docId);
    const checkpoints: LogEntry[] = [];
    for (let checkpoint = await log.latestCheckpoint(docId); checkpoint; ) {
      checkpoints.push(checkpoint);
      checkpoint = await log.latestCheckpoint(docId, checkpoint.seq - 1);
    }
    const first = entries[0]?.seq ?? head + 1;
    const states: [number, unknown][] = [];
    for (let seq = first === 1 ? 0 : first - 1; seq <= head; seq++) {
      states.push([seq, (await stateAt(decoded, docId, { seq })).json]);
    }
    result.push({ docId, head, entries: entries.map(stored), checkpoints: checkpoints.map(stored), states });
  }
  return result;
}

function stored(entry: LogEntry): StoredEntry {
  return { ...entry, payload: Buffer.from(entry.payload).toString('base64') };
}

/** Snapshots documents of the file store in `dir` (opened and closed here). */
export async function snapshotFileStore(dir: string, docIds: readonly string[]): Promise<DocumentSnapshot[]> {
  const log = await openFileLog({ dir });
  try {
    return await snapshot(log, docIds);
  } finally {
    await log.close();
  }
}

/** Entries of one document built from Y.Doc changes, with the times and origins given. */
export function scriptedEntries(
  steps: readonly (
    | { time: number; origin: string; change: (state: Y.Map<unknown>) => void }
    | { time: number; origin: string; event: { type: 'event' | 'status'; name: string; data?: Json } }
  )[],
): EntryInput[] {
  const doc = new Y.Doc();
  const state = doc.getMap('state');
  return steps.map((step) => {
    if ('event' in step) {
      const event: LifecycleEvent = { type: step.event.type, name: step.event.name, path: '' };
      if (step.event.data !== undefined) event.data = step.event.data;
      return {
        kind: 'lifecycle',
        time: step.time,
        origin: step.origin,
        flags: 0,
        payload: encodeLifecyclePayload(event),
      };
    }
    let update: Uint8Array | undefined;
    const capture = (bytes: Uint8Array) => {
      update = bytes;
    };
    doc.once('update', capture);
    doc.transact(() => step.change(state));
    if (update === undefined) throw new Error('the step changed nothing');
    return { kind: 'update', time: step.time, origin: step.origin, flags: 0, payload: update };
  });
}
