import fjp from 'fast-json-patch';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { restoreArchive, writeArchive } from './archive.js';
import { Engine, type EngineOptions } from './engine.js';
import { ErrorCode, YStateError } from './errors.js';
import { buildCheckpoint } from './history.js';
import { decodeLifecyclePayload } from './lifecycle.js';
import { MemoryUpdateLog } from './memory-log.js';
import { StateDocument } from './state-document.js';
import { pinVersions } from './version-pins.js';
import { parseVersionPoint, VersionLifecycle } from './versions.js';
import { collaborativeText } from './y-value.js';

const engines: Engine[] = [];
function engine(options: Partial<EngineOptions> = {}): Engine {
  const created = new Engine({
    log: new MemoryUpdateLog(),
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    ...options,
  });
  engines.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function lastEvent(e: Engine, docId: string) {
  const [entry] = await e.log.read(docId, { from: await e.log.head(docId) });
  if (entry?.kind !== 'lifecycle') throw new Error('the last entry is not a lifecycle event');
  return { origin: entry.origin, event: decodeLifecyclePayload(entry.payload).event };
}

/** Someone's own Y.Doc, synced with the server now, edited later (a y-websocket client). */
async function clientOf(e: Engine, docId: string): Promise<StateDocument> {
  const client = new StateDocument('client');
  const server = await e.open(docId);
  Y.applyUpdate(client.ydoc, Y.encodeStateAsUpdate(server.ydoc));
  e.release(docId);
  return client;
}
async function send(
  e: Engine,
  docId: string,
  client: StateDocument,
  edit: (doc: StateDocument) => void,
  origin: string,
) {
  const before = Y.encodeStateVector(client.ydoc);
  edit(client);
  return e.receive(docId, Y.encodeStateAsUpdate(client.ydoc, before), { origin });
}

describe('points of history', () => {
  it('reads digits as a seq, ISO dates and 13-digit ms as times, anything else as a version name', () => {
    expect(parseVersionPoint('12')).toEqual({ seq: 12 });
    expect(parseVersionPoint('2026-01-31T12:00:00Z')).toEqual({ time: '2026-01-31T12:00:00Z' });
    expect(parseVersionPoint('1767225600000')).toEqual({ time: 1767225600000 });
    expect(parseVersionPoint('before-agent')).toEqual({ version: 'before-agent' });
  });
});

describe('named versions', () => {
  it('names a seq in the log, lists it with who named it and when, and reads and diffs state at it', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/title', 'draft'), { origin: 'alice' });
    await e.write('d', (tx) => tx.set('/tags', ['a']), { origin: 'alice' });
    const named = await e.nameVersion('d', 'first-draft', { origin: 'alice' });
    expect(named).toMatchObject({ name: 'first-draft', seq: 2, origin: 'alice', namedAt: 3 });
    await e.nameVersion('d', 'title-only', { seq: 1, origin: 'bob' });
    await e.write('d', (tx) => tx.set('/title', 'final'), { origin: 'bob' });

    const versions = await e.versions('d');
    expect(versions.map(({ name, seq, origin, namedAt }) => ({ name, seq, origin, namedAt }))).toEqual([
      { name: 'first-draft', seq: 2, origin: 'alice', namedAt: 3 },
      { name: 'title-only', seq: 1, origin: 'bob', namedAt: 4 },
    ]);
    expect(versions[0]?.time).toBe(named.time);
    expect((await e.versionState('d', { version: 'first-draft' })).json).toEqual({
      title: 'draft',
      tags: ['a'],
    });
    const diff = await e.diff('d', { version: 'title-only' }, { version: 'first-draft' });
    expect(diff).toEqual({ from: 1, to: 2, patch: [{ op: 'add', path: '/tags', value: ['a'] }] });
    // A new engine on the same log (a restart, a restore of the log) sees the same names.
    const again = engine({ log: e.log });
    expect((await again.versions('d')).map((v) => v.name)).toEqual(['first-draft', 'title-only']);
  });

  it('refuses a taken name, a name that reads as a seq or time, and a seq beyond the head, writing nothing', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/a', 1));
    await e.nameVersion('d', 'v1');
    const head = await e.log.head('d');
    await expect(e.nameVersion('d', 'v1')).rejects.toMatchObject({ code: ErrorCode.VERSION_EXISTS });
    await expect(e.nameVersion('d', '42')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    await expect(e.nameVersion('d', '2026-01-01')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    await expect(e.nameVersion('d', ' ')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    await expect(e.nameVersion('d', 'x'.repeat(201))).rejects.toMatchObject({
      code: ErrorCode.INVALID_VALUE,
    });
    await expect(e.nameVersion('d', 'v2', { seq: head + 5 })).rejects.toMatchObject({
      code: ErrorCode.PATH_NOT_FOUND,
    });
    await expect(e.versionState('d', { version: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.VERSION_NOT_FOUND,
    });
    expect(await e.log.head('d')).toBe(head);
  });

  it('survive a backup and restore into another store: same names, seqs, who and when', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/a', 1), { origin: 'alice' });
    await e.nameVersion('d', 'v1', { origin: 'alice' });
    await e.write('d', (tx) => tx.set('/a', 2), { origin: 'bob' });
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeArchive(e.log)) chunks.push(chunk);
    const restored = new MemoryUpdateLog();
    await restoreArchive(async function* () {
      yield* chunks;
    }, restored);
    const other = engine({ log: restored });
    expect(await other.versions('d')).toEqual(await e.versions('d'));
    expect((await other.versionState('d', { version: 'v1' })).json).toEqual({ a: 1 });
  });

  it("pin the history they need against the engine's retention, until deleted", async () => {
    const log = new MemoryUpdateLog();
    const e = engine({ log, retainEntries: 3, checkpointEvery: { entries: 4, sizeFraction: 0 } });
    const firstRetained = async (docId: string) => (await log.read(docId))[0]?.seq;
    for (let i = 0; i < 6; i++) {
      await e.write('pinned', (tx) => tx.set('/n', i));
      await e.write('free', (tx) => tx.set('/n', i));
    }
    await e.nameVersion('pinned', 'mid', { seq: 5 });
    for (let i = 6; i < 40; i++) {
      await e.write('pinned', (tx) => tx.set('/n', i));
      await e.write('free', (tx) => tx.set('/n', i));
    }
    // Without a version, retention prunes the old entries; with one, what rebuilds it stays.
    await expect.poll(() => firstRetained('free')).toBeGreaterThan(30);
    await expect.poll(async () => (await log.latestCheckpoint('pinned'))?.seq).toBeGreaterThan(30);
    expect((await e.versionState('pinned', { version: 'mid' })).json).toEqual({ n: 4 });
    expect((await e.versions('pinned')).map((v) => v.name)).toEqual(['mid']);
    const pinnedFrom = (await firstRetained('pinned')) ?? 0;
    expect(pinnedFrom).toBeLessThanOrEqual(5);
    // A deleted version releases its pin: the next retention prune goes past it.
    expect(await e.deleteVersion('pinned', 'mid', { origin: 'ann' })).toMatchObject({ name: 'mid', seq: 5 });
    expect(await e.versions('pinned')).toEqual([]);
    await expect(e.versionState('pinned', { version: 'mid' })).rejects.toMatchObject({
      code: ErrorCode.VERSION_NOT_FOUND,
    });
    for (let i = 40; i < 50; i++) await e.write('pinned', (tx) => tx.set('/n', i));
    await expect.poll(() => firstRetained('pinned')).toBeGreaterThan(40);
    // The name is free again.
    await e.nameVersion('pinned', 'mid');
  });

  it('keep their pins through a backup and restore', async () => {
    const e = engine();
    for (let i = 0; i < 8; i++) await e.write('d', (tx) => tx.set('/n', i));
    await e.nameVersion('d', 'v', { seq: 3 });
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeArchive(e.log)) chunks.push(chunk);
    const restored = new MemoryUpdateLog();
    await restoreArchive(async function* () {
      yield* chunks;
    }, restored);
    await restored.storeCheckpoint('d', await buildCheckpoint(restored, 'd', 8, 'test'));
    // Pruning through the pins after the restore stops where the version needs it to.
    await pinVersions(restored).prune('d', 9);
    expect((await engine({ log: restored }).versionState('d', { version: 'v' })).json).toEqual({ n: 2 });
  });

  it('says HISTORY_PRUNED, naming the version, when a prune that ignores pins removed the history it needs', async () => {
    const e = engine();
    for (let i = 0; i < 10; i++) await e.write('d', (tx) => tx.set('/n', i));
    await e.nameVersion('d', 'early', { seq: 2 }); // seq 11
    await e.write('d', (tx) => tx.set('/n', 10)); // seq 12
    // A raw prune (not through pinVersions, as retention and compaction prune): a checkpoint, then the entries below it go.
    await e.log.storeCheckpoint('d', await buildCheckpoint(e.log, 'd', 10, 'test'));
    await e.log.prune('d', 11);
    await expect(e.versionState('d', { version: 'early' })).rejects.toMatchObject({
      code: ErrorCode.HISTORY_PRUNED,
      message: expect.stringContaining('version "early" (seq 2)'),
    });
    // Once the naming entry itself is pruned, the name is gone, and the answer says why it may be.
    await e.log.storeCheckpoint('d', await buildCheckpoint(e.log, 'd', 11, 'test'));
    await e.log.prune('d', 12);
    expect(await e.versions('d')).toEqual([]);
    await expect(e.versionState('d', { version: 'early' })).rejects.toMatchObject({
      code: ErrorCode.VERSION_NOT_FOUND,
      message: expect.stringContaining('older entries were pruned'),
    });
  });
});

describe('diff', () => {
  it('gives the JSON Patch between any two points, which fast-json-patch applies to the first to give the second', async () => {
    const e = engine();
    await e.write('d', (tx) =>
      tx.set('/todos', [
        { t: 'a', done: false },
        { t: 'b', done: false },
      ]),
    );
    await e.write('d', (tx) => tx.set('/todos/1/done', true));
    await e.write('d', (tx) => tx.insert('/todos/0', { t: 'z', done: false }));
    await e.write('d', (tx) => tx.set('/owner', 'ann'));
    for (const [from, to] of [
      [0, 4],
      [1, 4],
      [4, 1],
      [2, 3],
      [3, 3],
    ] as const) {
      const { patch } = await e.diff('d', { seq: from }, { seq: to });
      const before = (await e.stateAt('d', { seq: from })).json;
      const after = (await e.stateAt('d', { seq: to })).json;
      expect(fjp.applyPatch(fjp.deepClone(before), fjp.deepClone(patch), true, false).newDocument).toEqual(
        after,
      );
    }
    expect((await e.diff('d', { seq: 1 }, { seq: 2 })).patch).toEqual([
      { op: 'replace', path: '/todos/1/done', value: true },
    ]);
    expect((await e.diff('d', { seq: 0 }, { time: Date.now() + 1000 })).to).toBe(4);
    await expect(e.diff('d', { seq: 0 }, { seq: 99 })).rejects.toMatchObject({
      code: ErrorCode.PATH_NOT_FOUND,
    });
  });
});

describe('revert', () => {
  it('writes one entry with its origin and a lifecycle event naming the seq (and version) it went back to', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/doc', { title: 'one', items: [1, 2, 3] }), { origin: 'alice' });
    await e.nameVersion('d', 'v1', { origin: 'alice' });
    await e.write('d', (tx) => tx.set('/doc/title', 'two'), { origin: 'agent' });
    await e.write('d', (tx) => tx.delete('/doc/items/1'), { origin: 'agent' });
    await e.write('d', (tx) => tx.set('/extra', true), { origin: 'agent' });
    const result = await e.revert('d', { version: 'v1' }, { origin: 'alice' });
    expect(result).toEqual({ seq: 6, to: 1 });
    expect(await e.get('d')).toEqual({ doc: { title: 'one', items: [1, 2, 3] } });
    expect(await lastEvent(e, 'd')).toEqual({
      origin: 'alice',
      event: { type: 'event', name: VersionLifecycle.reverted, path: '', data: { to: 1, version: 'v1' } },
    });
    // The history before the revert is still there.
    expect((await e.stateAt('d', { seq: 5 })).json).toMatchObject({ extra: true });
  });

  it('reverts text by a minimal splice, so keystrokes a person types meanwhile survive', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/body', collaborativeText('hello world')));
    await e.write('d', (tx) => tx.spliceText('/body', 6, 0, 'brave '), { origin: 'agent' });
    // A person has the document open and types "!" at the end while the revert is being made.
    // Their update reaches the server after the revert was written: it is concurrent with it.
    const person = await clientOf(e, 'd');
    await e.revert('d', { seq: 1 }, { origin: 'alice' });
    await send(e, 'd', person, (doc) => doc.spliceText('/body', 17, 0, '!'), 'person');
    expect(await e.get('d')).toEqual({ body: 'hello world!' });
    // The text stays collaborative (a Y.Text), not replaced by a plain string.
    const live = await e.open('d');
    expect(live.text('/body').toString()).toBe('hello world!');
    e.release('d');
    person.destroy();
  });

  it('offers beforeWrite the patch it would make; throwing there refuses it, writing nothing', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/a', 1));
    await e.write('d', (tx) => tx.set('/b', [1, 2]));
    const seen: unknown[] = [];
    const refuse = (patch: unknown) => {
      seen.push(patch);
      throw new YStateError({ code: ErrorCode.FORBIDDEN, message: 'no' });
    };
    await expect(e.revert('d', { seq: 1 }, { beforeWrite: refuse })).rejects.toMatchObject({
      code: ErrorCode.FORBIDDEN,
    });
    await expect(e.undo('d', { origin: e.nodeId, from: 2 }, { beforeWrite: refuse })).rejects.toMatchObject({
      code: ErrorCode.FORBIDDEN,
    });
    expect(seen).toEqual([[{ op: 'remove', path: '/b' }], [{ op: 'remove', path: '/b' }]]);
    expect(await e.log.head('d')).toBe(2);
    expect(await e.get('d')).toEqual({ a: 1, b: [1, 2] });
  });

  it('refuses an unknown version or seq, writing nothing', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/a', 1));
    await expect(e.revert('d', { version: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.VERSION_NOT_FOUND,
    });
    await expect(e.revert('d', { seq: 7 })).rejects.toMatchObject({ code: ErrorCode.PATH_NOT_FOUND });
    expect(await e.log.head('d')).toBe(1);
  });
});

describe('undo (Yjs undo semantics)', () => {
  async function run(e: Engine, runId: string, writes: (origin: string) => Promise<unknown>) {
    const origin = `agui:${runId}`;
    await e.record('d', { type: 'event', name: 'agui.RUN_STARTED', path: '', data: { runId } }, { origin });
    await writes(origin);
    await e.record('d', { type: 'event', name: 'agui.RUN_FINISHED', path: '', data: { runId } }, { origin });
  }

  it('undoes a run by id and records what it undid; others’ later changes elsewhere stay', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/status', 'draft'), { origin: 'alice' });
    await run(e, 'r1', async (origin) => {
      await e.write('d', (tx) => tx.set('/status', 'published'), { origin });
      await e.write('d', (tx) => tx.set('/summary', 'by the agent'), { origin });
    });
    await e.write('d', (tx) => tx.set('/owner', 'bob'), { origin: 'bob' });
    const result = await e.undo('d', { run: 'r1' }, { origin: 'alice' });
    expect(result).toMatchObject({ origin: 'agui:r1', from: 2, to: 5, entries: 2, updateSeq: 7, seq: 8 });
    expect(await e.get('d')).toEqual({ status: 'draft', owner: 'bob' });
    expect(await lastEvent(e, 'd')).toEqual({
      origin: 'alice',
      event: {
        type: 'event',
        name: VersionLifecycle.undone,
        path: '',
        data: { origin: 'agui:r1', from: 2, to: 5, entries: 2, run: 'r1', updateSeq: 7 },
      },
    });
  });

  it('example: a field the run added and someone then edited goes away with the run', async () => {
    const e = engine();
    await run(e, 'r1', (origin) => e.write('d', (tx) => tx.set('/todo', { title: 'buy milk' }), { origin }));
    await e.write('d', (tx) => tx.set('/todo/done', true), { origin: 'bob' });
    await e.undo('d', { run: 'r1' });
    expect(await e.get('d')).toEqual({});
  });

  it('example: a value the run overwrote and someone then overwrote again keeps the later value', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/status', 'draft'), { origin: 'alice' });
    await run(e, 'r1', (origin) => e.write('d', (tx) => tx.set('/status', 'published'), { origin }));
    await e.write('d', (tx) => tx.set('/status', 'in review'), { origin: 'bob' });
    await e.undo('d', { run: 'r1' });
    expect(await e.get('d')).toEqual({ status: 'in review' });
  });

  it('example: text the run inserted goes, text someone typed inside it afterwards stays', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/body', collaborativeText('ab')), { origin: 'alice' });
    await run(e, 'r1', (origin) => e.write('d', (tx) => tx.spliceText('/body', 1, 0, 'XYZ'), { origin }));
    await e.write('d', (tx) => tx.spliceText('/body', 2, 0, '-'), { origin: 'bob' }); // aX-YZb
    await e.undo('d', { run: 'r1' });
    expect(await e.get('d')).toEqual({ body: 'a-b' });
  });

  it('example: an item the run deleted comes back, even after others edited around it', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/list', ['a', 'b', 'c']), { origin: 'alice' });
    await run(e, 'r1', (origin) => e.write('d', (tx) => tx.delete('/list/1'), { origin }));
    await e.write('d', (tx) => tx.push('/list', 'd'), { origin: 'bob' });
    await e.undo('d', { run: 'r1' });
    expect(await e.get('d')).toEqual({ list: ['a', 'b', 'c', 'd'] });
  });

  it('example: a value two of the run’s writes replaced concurrently (one made at a stale base) comes back, whichever won', async () => {
    // Client ids decide which of two concurrent map values wins; both orders are tried.
    for (const [first, second] of [
      [10, 20],
      [20, 10],
    ] as const) {
      const e = engine();
      await e.write('d', (tx) => tx.set('/status', 'draft'), { origin: 'alice' });
      const [fresh, stale] = [await clientOf(e, 'd'), await clientOf(e, 'd')];
      fresh.ydoc.clientID = first;
      stale.ydoc.clientID = second;
      await run(e, 'r1', async (origin) => {
        await send(e, 'd', fresh, (doc) => doc.set('/status', 'published'), origin);
        await send(e, 'd', stale, (doc) => doc.set('/status', 'archived'), origin);
      });
      expect(await e.get('d')).toEqual({ status: first > second ? 'published' : 'archived' });
      await e.undo('d', { run: 'r1' });
      expect(await e.get('d')).toEqual({ status: 'draft' });
      fresh.destroy();
      stale.destroy();
    }
  });

  it('example: a value someone set between two of the run’s writes comes back, not the one before the run', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/status', 'draft'), { origin: 'alice' });
    await run(e, 'r1', async (origin) => {
      await e.write('d', (tx) => tx.set('/status', 'published'), { origin });
      await e.write('d', (tx) => tx.set('/status', 'in review'), { origin: 'bob' });
      await e.write('d', (tx) => tx.set('/status', 'archived'), { origin });
    });
    await e.undo('d', { run: 'r1' });
    expect(await e.get('d')).toEqual({ status: 'in review' });
  });

  it('undoes one origin between two seqs, and refuses an unknown run or a bad range', async () => {
    const e = engine();
    await e.write('d', (tx) => tx.set('/a', 1), { origin: 'svc' });
    await e.write('d', (tx) => tx.set('/b', 1), { origin: 'svc' });
    await e.write('d', (tx) => tx.set('/c', 1), { origin: 'other' });
    await e.write('d', (tx) => tx.set('/d', 1), { origin: 'svc' });
    const result = await e.undo('d', { origin: 'svc', from: 2, to: 3 });
    expect(result).toMatchObject({ entries: 1, from: 2, to: 3 });
    expect(await e.get('d')).toEqual({ a: 1, c: 1, d: 1 });
    const head = await e.log.head('d');
    await expect(e.undo('d', { run: 'nope' })).rejects.toMatchObject({ code: ErrorCode.RUN_NOT_FOUND });
    await expect(e.undo('d', { origin: 'svc', from: 3, to: 2 })).rejects.toMatchObject({
      code: ErrorCode.PATH_NOT_FOUND,
    });
    await expect(e.undo('d', { origin: '' })).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    expect(await e.log.head('d')).toBe(head);
  });

  it('a run with no state changes is recorded as undone with nothing written', async () => {
    const e = engine();
    await run(e, 'r1', async () => {});
    const result = await e.undo('d', { run: 'r1' });
    expect(result.updateSeq).toBeUndefined();
    expect(result.seq).toBe(3);
  });
});
