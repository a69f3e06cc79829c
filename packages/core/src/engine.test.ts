import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { withCodecs } from './codecs.js';
import { Engine, type EngineOptions } from './engine.js';
import { ErrorCode, YStateError } from './errors.js';
import type { Json } from './json.js';
import type { RecordedLifecycleEvent } from './lifecycle.js';
import type { EntryInput, LogEntry } from './log-entry.js';
import { MemorySyncBus } from './memory-bus.js';
import { MemoryUpdateLog } from './memory-log.js';
import type { Change } from './state-document.js';
import type { BusListener, SyncBus, UpdateLog } from './update-log.js';

/** A log that counts appends and can be told to fail, around a memory log. */
class CountingLog extends MemoryUpdateLog {
  appends = 0;
  failing = false;
  override async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.appends++;
    if (this.failing) throw new YStateError({ code: ErrorCode.LOG_UNAVAILABLE, message: 'log down' });
    return super.append(docId, entries);
  }
}

function engine(log: UpdateLog, options: Partial<EngineOptions> = {}): Engine {
  return new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY, ...options });
}

function untilChange(
  doc: { onChange(l: (c: Change) => void): () => void },
  predicate: (c: Change) => boolean,
): Promise<Change> {
  return new Promise((resolve) => {
    const stop = doc.onChange((change) => {
      if (predicate(change)) {
        stop();
        resolve(change);
      }
    });
  });
}

describe('Engine: persistence', () => {
  it('acknowledges writes with dense seqs once logged, and a new engine loads the same state from the log', async () => {
    const log = new MemoryUpdateLog();
    const a = engine(log);
    expect((await a.write('d', (tx) => tx.set('/todos', []))).seq).toBe(1);
    expect((await a.write('d', (tx) => tx.push('/todos', 'one'))).seq).toBe(2);
    expect((await a.applyPatch('d', [{ op: 'add', path: '/todos/-', value: 'two' }])).seq).toBe(3);
    expect(await log.head('d')).toBe(3);
    await a.close();
    const b = engine(log);
    expect(await b.get('d')).toEqual({ todos: ['one', 'two'] });
    expect(b.seqOf('d')).toBe(3); // get() released it; it stays open until idle
    await b.close();
  });

  it('spaces checkpoints by the size of the last one, so a large document is not re-encoded every few small edits', async () => {
    const log = new MemoryUpdateLog();
    /** Writes `values` (one entry each) through a new engine; resolves with the seq of the latest checkpoint. */
    const phase = async (values: Json[], sizeFraction?: number) => {
      const every = sizeFraction === undefined ? { entries: 10 } : { entries: 10, sizeFraction };
      const e = engine(log, { checkpointEvery: every });
      for (const [i, value] of values.entries()) {
        await e.write('d', (tx) =>
          tx.set(typeof value === 'string' && value.length > 50_000 ? '/big' : `/k${i % 5}`, value),
        );
      }
      await e.close();
      return (await log.latestCheckpoint('d'))?.seq;
    };
    const small = (n: number) => Array.from({ length: n }, (_, i) => i);
    // 10 entries, one of them a 100 kB string that stays: the checkpoint at seq 10 holds ~100 kB.
    expect(await phase(['x'.repeat(100_000), ...small(9)])).toBe(10);
    // 50 small entries (~1.5 kB) are less than a tenth of that: no checkpoint, although 50 > 10 entries.
    // The size comes from the checkpoint loaded on open.
    expect(await phase(small(50))).toBe(10);
    // The gate is what held it back: without it, the same kind of writes checkpoint.
    expect(await phase(small(10), 0)).toBe(70);
    // 20 entries of 1 kB each reach a tenth of the ~100 kB checkpoint.
    expect(await phase(small(20).map((i) => `${i}`.padEnd(1000, 'y')))).toBeGreaterThan(70);
  });

  it('loads from the latest checkpoint plus the tail, and prunes per the retention bound', async () => {
    const log = new MemoryUpdateLog();
    const a = engine(log, { checkpointEvery: { entries: 10 }, retainEntries: 5 });
    for (let i = 0; i < 35; i++) await a.write('d', (tx) => tx.set(`/k${i % 7}`, i));
    await a.flush();
    const expected = await a.get('d');
    await a.close();
    const checkpoint = await log.latestCheckpoint('d');
    expect(checkpoint?.seq).toBeGreaterThanOrEqual(30);
    // Entries before the older checkpoint that leaves >= 5 entries are gone; replay still works after it.
    const retained = await log.read('d');
    expect(retained[0]?.seq).toBeGreaterThan(1);
    const reads: { from?: number }[] = [];
    const spy = Object.assign(Object.create(log) as UpdateLog, {
      read: (docId: string, range?: { from?: number; to?: number }) => {
        reads.push({ ...range });
        return log.read(docId, range);
      },
    });
    const b = engine(spy);
    expect(await b.get('d')).toEqual(expected);
    expect(reads[0]?.from).toBe((checkpoint?.seq ?? 0) + 1);
    await expect(b.stateAt('d', { seq: 1 })).rejects.toMatchObject({ code: ErrorCode.HISTORY_PRUNED });
    await b.close();
  });

  it('group commit: concurrent writes share appends, each still gets its own dense seq', async () => {
    const log = new CountingLog();
    const e = engine(log);
    await e.open('d');
    const writes = Array.from({ length: 200 }, (_, i) => e.write('d', (tx) => tx.set(`/k${i}`, i)));
    const seqs = (await Promise.all(writes)).map((w) => w.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(log.appends).toBeLessThan(20);
    await e.close();
  });

  it('while the log is unreachable, a write waits: it is retried in order and acknowledged once the log has it', async () => {
    const log = new CountingLog();
    const errors: unknown[] = [];
    let reported!: () => void;
    const firstError = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const e = engine(log, {
      onError: (error) => {
        errors.push(error);
        reported();
      },
    });
    const doc = await e.open('d');
    log.failing = true;
    let acknowledged: number | undefined;
    const write = e
      .write('d', (tx) => tx.set('/a', 1))
      .then(({ seq }) => {
        acknowledged = seq;
      });
    await firstError;
    // While the log stays down, flush says so instead of waiting forever; nothing is visible.
    await expect(e.flush()).rejects.toMatchObject({ code: ErrorCode.LOG_UNAVAILABLE });
    expect(acknowledged).toBeUndefined();
    expect(doc.toJSON()).toEqual({});
    log.failing = false;
    await e.flush();
    await write;
    expect(acknowledged).toBe(1);
    expect(doc.toJSON()).toEqual({ a: 1 });
    expect((await log.read('d')).length).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
    await e.close();
  });

  it('a refusal by the log (not an outage) is reported and not retried', async () => {
    class RefusingLog extends CountingLog {
      override async append(_docId: string, _entries: readonly EntryInput[]): Promise<LogEntry[]> {
        this.appends++;
        throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: 'this store cannot hold that' });
      }
    }
    const log = new RefusingLog();
    const errors: unknown[] = [];
    const e = engine(log, { onError: (error) => errors.push(error) });
    await expect(e.write('d', (tx) => tx.set('/a', 1))).rejects.toMatchObject({
      code: ErrorCode.INVALID_VALUE,
    });
    await e.flush();
    expect(log.appends).toBe(1);
    expect(errors).toHaveLength(1);
    await e.close();
  });

  it('while a document reloads after a refusal, a redundant update is still ignored and a new one gets the refusal', async () => {
    // One refused append, then a reload that waits on the log until released.
    let releaseRead!: () => void;
    const readHeld = new Promise<void>((resolve) => {
      releaseRead = resolve;
    });
    class RefusingOnceLog extends MemoryUpdateLog {
      refuse = false;
      reading = false;
      override async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
        if (this.refuse) {
          this.refuse = false;
          throw new YStateError({ code: ErrorCode.STORAGE_FAILED, message: 'disk said no' });
        }
        return super.append(docId, entries);
      }
      override async read(docId: string, range?: { from?: number; to?: number }): Promise<LogEntry[]> {
        if (this.reading) await readHeld;
        return super.read(docId, range);
      }
    }
    const log = new RefusingOnceLog();
    const e = engine(log, { onError: () => {} });
    await e.open('d');
    const client = new Y.Doc();
    const updates: Uint8Array[] = [];
    client.on('update', (u: Uint8Array) => updates.push(u));
    client.getMap('state').set('a', 1);
    await e.receive('d', updates[0] as Uint8Array, { origin: 'c' });
    log.refuse = true;
    log.reading = true;
    client.getMap('state').set('b', 2);
    await expect(e.receive('d', updates[1] as Uint8Array, { origin: 'c' })).rejects.toMatchObject({
      code: ErrorCode.STORAGE_FAILED,
    });
    // The document is reloading (its read is held): what it holds already changes nothing…
    await expect(e.receive('d', updates[0] as Uint8Array, { origin: 'c' })).resolves.toEqual({
      seq: 1,
      changed: false,
    });
    // …and anything new gets the refusal that put it there, touching nothing.
    const other = new Y.Doc();
    other.getMap('state').set('c', 3);
    await expect(e.receive('d', Y.encodeStateAsUpdate(other), { origin: 'o' })).rejects.toMatchObject({
      code: ErrorCode.STORAGE_FAILED,
    });
    releaseRead();
    await e.flush();
    // Reloaded: it takes writes again, and the client's resent update lands.
    await expect(e.receive('d', updates[1] as Uint8Array, { origin: 'c' })).resolves.toEqual({
      seq: 2,
      changed: true,
    });
    expect(await e.get('d')).toEqual({ a: 1, b: 2 });
    expect(await log.head('d')).toBe(2);
    await e.close();
  });

  it('an update that decodes but cannot be integrated is refused; the log keeps only what the document holds', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log);
    const doc = await e.open('d');
    const author = new Y.Doc();
    author.clientID = 7;
    const updates: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => updates.push(u));
    author.getMap('state').set('a', 1);
    author.getMap('state').set('t', new Y.Text('hello'));
    await e.receive('d', updates[0] as Uint8Array, { origin: 'c' });
    // The Y.Text's creation with one byte changed: it decodes, and applies to an empty document,
    // yet Yjs throws applying it after the first update.
    const poisoned = new Uint8Array(updates[1] as Uint8Array);
    poisoned[18] = 2;
    expect(() => Y.decodeUpdate(poisoned)).not.toThrow();
    expect(() => Y.applyUpdate(new Y.Doc(), poisoned)).not.toThrow();
    await expect(e.receive('d', poisoned, { origin: 'c' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_UPDATE,
    });
    await e.flush();
    // Whatever the document took in is logged, so a fresh load equals the live document.
    const fresh = engine(log);
    const reloaded = await fresh.open('d');
    expect(Y.encodeStateVector(reloaded.ydoc)).toEqual(Y.encodeStateVector(doc.ydoc));
    // A no-op update (already known) logs nothing.
    const head = await log.head('d');
    await e.receive('d', updates[0] as Uint8Array, { origin: 'c' });
    expect(await log.head('d')).toBe(head);
    await fresh.close();
    await e.close();
  });

  it('takes an editor typing ahead of the log: keystrokes that build on ones in flight pass the gate, an embed among them is refused', async () => {
    // The log holds every append until released, so each keystroke names the previous one, still
    // on its way, as its origin.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    class HeldLog extends MemoryUpdateLog {
      override async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
        await held;
        return super.append(docId, entries);
      }
    }
    const log = new HeldLog();
    const e = engine(log);
    const doc = await e.open('d');
    const author = new Y.Doc();
    const updates: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => updates.push(u));
    const notes = new Y.Text();
    author.getMap('state').set('notes', notes);
    for (const char of 'hello') notes.insert(notes.length, char);
    notes.insertEmbed(notes.length, { image: 'x' });
    const typed = updates.slice(0, 6).map((u) => e.receive('d', u, { origin: 'editor' }));
    await expect(e.receive('d', updates[6] as Uint8Array, { origin: 'editor' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_VALUE,
    });
    release();
    expect((await Promise.all(typed)).map((r) => r.changed)).toEqual([true, true, true, true, true, true]);
    expect(doc.get('/notes')).toBe('hello');
    const fresh = engine(new MemoryUpdateLog());
    for (const entry of await log.read('d')) await fresh.receive('d2', entry.payload, { origin: 'replay' });
    expect(await fresh.get('d2')).toEqual({ notes: 'hello' });
    await fresh.close();
    await e.close();
  });

  it('refuses invalid updates before anything reaches the log', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log);
    await expect(e.receive('d', new Uint8Array([1, 2, 3, 250]))).rejects.toMatchObject({
      code: ErrorCode.INVALID_UPDATE,
    });
    expect(await log.head('d')).toBe(0);
    await e.close();
  });
});

describe('Engine: change notifications carry seqs, in transaction order', () => {
  it('local writes and received updates notify with their seq; a batch of bus entries is one notification', async () => {
    const log = new MemoryUpdateLog();
    const bus = new MemorySyncBus();
    const a = engine(log, { bus, nodeId: 'a' });
    const b = engine(log, { bus: bus.peer(), nodeId: 'b' });
    const docB = await b.open('d');
    const seen: Change[] = [];
    docB.onChange((c) => seen.push(c));
    await b.write('d', (tx) => tx.set('/x', 1), { origin: 'bob' });
    expect(seen.map((c) => [c.seq, c.origin])).toEqual([[1, 'bob']]);
    // Node a writes; b applies it from the bus with a's seq.
    await a.open('d');
    const arrived = untilChange(docB, (c) => c.seq === 2);
    await a.write('d', (tx) => {
      tx.set('/y', 2);
    });
    await arrived;
    const client = new Y.Doc();
    client.getMap('state').set('z', 3);
    const remote = untilChange(docB, (c) => c.seq === 3);
    await a.receive('d', Y.encodeStateAsUpdate(client), { origin: 'carol' });
    await remote;
    expect(seen.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(seen[2]?.origin).toBe('carol');
    expect(docB.toJSON()).toEqual({ x: 1, y: 2, z: 3 });
    await a.close();
    await b.close();
  });

  it('applies a batch of entries from the bus entry by entry, each notification with its own seq', async () => {
    const log = new MemoryUpdateLog();
    const bus = new MemorySyncBus();
    const b = engine(log, { bus: bus.peer(), nodeId: 'b' });
    const doc = await b.open('d');
    const seen: Change[] = [];
    doc.onChange((c) => seen.push(c));
    // Another node (simulated with a plain Y.Doc) appends three updates at once and publishes them.
    const other = new Y.Doc();
    const updates: Uint8Array[] = [];
    other.on('update', (u: Uint8Array) => updates.push(u));
    for (const key of ['p', 'q', 'r']) other.getMap('state').set(key, key);
    const stored = await log.append(
      'd',
      updates.map((payload) => ({
        kind: 'update' as const,
        time: Date.now(),
        origin: 'other',
        flags: 0,
        payload,
      })),
    );
    const arrived = untilChange(doc, (c) => c.seq === 3);
    await bus.publish('d', stored);
    await arrived;
    expect(seen.map((c) => [c.seq, c.ops.map((op) => op.path)])).toEqual([
      [1, ['/p']],
      [2, ['/q']],
      [3, ['/r']],
    ]);
    await b.close();
  });
});

describe('Engine: durable updates (what a server broadcasts)', () => {
  it("announces received updates, local writes and other nodes' entries only once the log holds them", async () => {
    const log = new CountingLog();
    const bus = new MemorySyncBus();
    const failures: unknown[] = [];
    let failed!: () => void;
    const firstFailure = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const a = engine(log, {
      bus,
      nodeId: 'a',
      onError: (error) => {
        failures.push(error);
        failed();
      },
    });
    const b = engine(log, { bus: bus.peer(), nodeId: 'b' });
    const announced: [number, string][] = [];
    const stop = await a.onDurableUpdate('d', (update, seq, origin) => {
      expect(update).toBeInstanceOf(Uint8Array);
      announced.push([seq, origin]);
    });
    const client = new Y.Doc();
    client.getMap('state').set('c', 1);
    await a.receive('d', Y.encodeStateAsUpdate(client), { origin: 'client-1' });
    await a.write('d', (tx) => tx.set('/w', 2), { origin: 'api' });
    const fromB = new Promise<void>((resolve) => {
      void a.onDurableUpdate('d', (_u, seq) => seq === 3 && resolve());
    });
    await b.write('d', (tx) => tx.set('/x', 3), { origin: 'node-b-user' });
    await fromB;
    expect(announced).toEqual([
      [1, 'client-1'],
      [2, 'api'],
      [3, 'node-b-user'],
    ]);
    // Nothing is announced for a write whose append failed, until the retry lands.
    log.failing = true;
    const retried = a.write('d', (tx) => tx.set('/retried', 1));
    await firstFailure;
    await expect(a.flush()).rejects.toMatchObject({ code: ErrorCode.LOG_UNAVAILABLE });
    expect(announced).toHaveLength(3);
    log.failing = false;
    await a.flush();
    await retried;
    expect(announced.map(([seq]) => seq)).toEqual([1, 2, 3, 4]);
    expect(failures.length).toBeGreaterThan(0);
    stop();
    await a.close();
    await b.close();
  });
});

describe('Engine: nodes converge through log and bus', () => {
  it('a node that misses bus messages fills the gap from the log', async () => {
    const log = new MemoryUpdateLog();
    const hub = new MemorySyncBus();
    let dropping = true;
    // b's bus loses every message while `dropping` (Pub/Sub is at-most-once).
    const lossy: SyncBus = {
      publish: (docId, entries) => hub.publish(docId, entries),
      subscribe: (docId, listener: BusListener) =>
        hub.peer().subscribe(docId, (entries) => {
          if (!dropping) listener(entries);
        }),
      close: async () => {},
    };
    const a = engine(log, { bus: hub, nodeId: 'a' });
    const b = engine(log, { bus: lossy, nodeId: 'b' });
    const filled: number[] = [];
    b.onGapFilled((_docId, entries) => filled.push(entries));
    const docB = await b.open('d');
    await a.write('d', (tx) => tx.set('/list', []));
    for (let i = 0; i < 5; i++) await a.write('d', (tx) => tx.push('/list', i));
    expect(docB.toJSON()).toEqual({});
    dropping = false;
    const caught = untilChange(docB, (c) => c.seq === 7);
    await a.write('d', (tx) => tx.push('/list', 5));
    await caught;
    expect(docB.toJSON()).toEqual({ list: [0, 1, 2, 3, 4, 5] });
    expect(b.seqOf('d')).toBe(7);
    expect(filled).toEqual([6]); // seqs 1–6 came from the log; 7 from the bus
    await a.close();
    await b.close();
  });

  it('random concurrent writes on three engines converge, and every log replays to the same JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(2), fc.constantFrom('a', 'b', 'c'), fc.integer(), fc.boolean()), {
          minLength: 1,
          maxLength: 30,
        }),
        async (steps) => {
          const log = new MemoryUpdateLog();
          const hub = new MemorySyncBus();
          const engines = [0, 1, 2].map((i) =>
            engine(log, { bus: i === 0 ? hub : hub.peer(), nodeId: `n${i}` }),
          );
          await Promise.all(engines.map((e) => e.write('d', (tx) => tx.merge('', { list: [] }))));
          await Promise.all(
            steps.map(([node, key, value, push]) =>
              (engines[node] as Engine).write('d', (tx) =>
                push ? tx.push('/list', value) : tx.set(`/${key}`, value),
              ),
            ),
          );
          for (const e of engines) await e.flush();
          await Promise.all(engines.map((e) => e.catchUp()));
          const states = await Promise.all(engines.map((e) => e.get('d')));
          const head = await log.head('d');
          const replayed = (await engines[0]!.stateAt('d', { seq: head })).json;
          for (const state of states) expect(state).toEqual(replayed);
          const seqs = (await log.read('d')).map((entry) => entry.seq);
          expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
          for (const e of engines) await e.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('replay', () => {
  it('stateAt every seq equals the JSON right after that seq was written; stepping the patches from {} reproduces each', async () => {
    const op = fc.tuple(
      fc.nat(4),
      fc.constantFrom('a', 'b', 'c'),
      fc.oneof(fc.integer(), fc.string({ maxLength: 3 })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (ops, every) => {
          const log = new MemoryUpdateLog();
          const e = engine(log, { checkpointEvery: { entries: every } });
          const recorded = new Map<number, Json>();
          await e.write('d', (tx) => tx.set('', { list: [], map: {} }));
          recorded.set(1, structuredClone(await e.get('d')) as Json);
          for (const [kind, key, value] of ops) {
            const { seq } = await e.write('d', (tx) => {
              const list = tx.get('/list') as Json[];
              if (kind === 0) tx.push('/list', value);
              else if (kind === 1 && list.length > 0) tx.delete(`/list/${list.length - 1}`);
              else if (kind === 2) tx.set(`/map/${key}`, value);
              else if (kind === 3) tx.merge('/map', { [key]: { nested: value } });
              else tx.set(`/${key}`, value);
            });
            recorded.set(seq, structuredClone(await e.get('d')) as Json);
          }
          await e.flush();
          for (const [seq, json] of recorded) expect((await e.stateAt('d', { seq })).json).toEqual(json);
          let state: Json = {};
          for await (const step of e.replay('d')) {
            state = jsonpatch.applyPatch(
              state,
              structuredClone(step.patch) as jsonpatch.Operation[],
              true,
              false,
            ).newDocument;
            if (recorded.has(step.seq)) expect(state).toEqual(recorded.get(step.seq));
          }
          const from = Math.max(1, Math.floor(recorded.size / 2));
          const partial: number[] = [];
          for await (const step of e.replay('d', { from, to: from + 1 })) partial.push(step.seq);
          expect(partial).toEqual([from, from + 1].filter((s) => s <= recorded.size));
          await e.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('finds the state at a time', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log);
    await e.write('d', (tx) => tx.set('/v', 1));
    const between = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5)); // entry times are in ms: make the next one later
    await e.write('d', (tx) => tx.set('/v', 2));
    expect((await e.stateAt('d', { time: between })).json).toEqual({ v: 1 });
    expect((await e.stateAt('d', { time: new Date(Date.now() + 1000).toISOString() })).json).toEqual({
      v: 2,
    });
    expect((await e.stateAt('d', { time: 0 })).json).toEqual({});
    await e.close();
  });
});

describe('granularity', () => {
  async function entriesFor(granularity: EngineOptions['granularity'], run: (e: Engine) => Promise<void>) {
    const log = new MemoryUpdateLog();
    const e = engine(log, granularity === undefined ? {} : { granularity });
    await run(e);
    await e.flush();
    const json = await e.get('d');
    await e.close();
    const fresh = engine(log);
    expect(await fresh.get('d')).toEqual(json);
    await fresh.close();
    return log.read('d');
  }
  const client = (key: string) => {
    const doc = new Y.Doc();
    doc.getMap('state').set(key, key);
    return Y.encodeStateAsUpdate(doc);
  };

  it('update: one entry per update; transaction: one per engine call; window: coalesced; replay stays exact', async () => {
    const three = async (e: Engine) => {
      await e.open('d');
      const doc = e.registry.get('d')!;
      await Promise.all([
        e.write('d', (tx) => tx.set('/a', 1), { origin: 'x' }),
        e.write('d', (tx) => tx.set('/b', 2), { origin: 'x' }),
        e.receive('d', client('c'), { origin: 'x' }),
      ]);
      doc.set('/d', 4);
    };
    expect(await entriesFor({ mode: 'update' }, three)).toHaveLength(4);
    expect(await entriesFor({ mode: 'window', windowMs: 20 }, three)).toHaveLength(2);
    const log = new MemoryUpdateLog();
    const e = engine(log, { granularity: { mode: 'transaction' } });
    const doc = await e.open('d');
    // One engine call that makes several Yjs transactions logs one entry.
    await e.write('d', (tx) => tx.set('/a', 1));
    await (e as unknown as { live: Map<string, { change: (fn: () => void) => Promise<unknown> }> }).live
      .get('d')!
      .change(() => {
        doc.set('/b', 2);
        doc.set('/c', 3);
      });
    expect(await log.head('d')).toBe(2);
    const steps = [];
    for await (const step of e.replay('d')) steps.push(step.patch.map((p) => p.path));
    expect(steps).toEqual([['/a'], ['/b', '/c']]);
    await e.close();
  });

  it('lifecycle: only lifecycle events are logged; the state is kept as checkpoints and survives a restart', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log, { granularityRules: [{ docs: 'runs/**', granularity: { mode: 'lifecycle' } }] });
    await e.write('runs/1', (tx) => tx.set('/progress', 10));
    await e.write('runs/1', (tx) => tx.set('/progress', 20));
    await e.record('runs/1', { type: 'event', name: 'tool-output', path: '/steps/0', data: { ok: true } });
    await e.write('other', (tx) => tx.set('/x', 1));
    await e.close();
    const kinds = (await log.read('runs/1')).map((entry) => entry.kind);
    expect(kinds).toEqual(['lifecycle', 'lifecycle']); // created, tool-output
    expect(await log.head('other')).toBe(1);
    const fresh = engine(log);
    expect(await fresh.get('runs/1')).toEqual({ progress: 20 });
    await fresh.close();
  });
});

describe('lifecycle events and pause/resume', () => {
  it('records events with state changes in the same entry, delivers them by name and path pattern, and replays them', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log);
    await e.write('d', (tx) => tx.set('/runs', { r1: { status: 'active' }, r2: { status: 'active' } }));
    const tools: RecordedLifecycleEvent[] = [];
    const statuses: string[] = [];
    const stop = await e.onLifecycle('d', { names: ['tool-output'], path: '/runs/r1/**' }, (ev) =>
      tools.push(ev),
    );
    await e.onLifecycle('d', { type: 'status' }, (ev) => statuses.push(`${ev.path}:${ev.name}`));
    await e.record(
      'd',
      { type: 'event', name: 'tool-output', path: '/runs/r1', data: { result: 42 } },
      {
        origin: 'agent-1',
        change: (tx) => tx.set('/runs/r1/result', 42),
      },
    );
    await e.record('d', { type: 'event', name: 'tool-output', path: '/runs/r2', data: { result: 7 } });
    await e.record('d', { type: 'status', name: 'completed', path: '/runs/r1' });
    expect(tools.map((t) => [t.seq, t.path, t.data, t.origin])).toEqual([
      [2, '/runs/r1', { result: 42 }, 'agent-1'],
    ]);
    expect(statuses).toEqual(['/runs/r1:completed']);
    expect(e.statusOf('d', '/runs/r1')).toBe('completed');
    stop();
    const steps = [];
    for await (const step of e.replay('d', { from: 2 })) steps.push(step);
    expect(steps[0]).toMatchObject({
      seq: 2,
      kind: 'lifecycle',
      patch: [{ op: 'add', path: '/runs/r1/result', value: 42 }],
      event: { name: 'tool-output', path: '/runs/r1', data: { result: 42 } },
    });
    await expect(e.record('d', { type: 'status', name: 'sleeping' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_EVENT,
    });
    await expect(e.record('d', { type: 'event', name: '' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_EVENT,
    });
    expect(await log.head('d')).toBe(4);
    await e.close();
  });

  it('while paused, incoming updates wait in order (not applied, not logged) and apply as one batch on resume', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log);
    const doc = await e.open('d');
    await e.write('d', (tx) => tx.set('/list', []));
    await e.pause('d', { origin: 'op' });
    expect(e.isPaused('d')).toBe(true);
    expect(() => doc.set('/x', 1)).toThrow(expect.objectContaining({ code: ErrorCode.DOCUMENT_PAUSED }));
    // A client made three edits in order; they arrive while paused.
    const client = new Y.Doc();
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc.ydoc));
    const updates: Uint8Array[] = [];
    client.on('update', (u: Uint8Array) => updates.push(u));
    const list = client.getMap('state').get('list') as Y.Array<number>;
    for (const n of [1, 2, 3]) list.push([n]);
    const acks = updates.map((u) => e.receive('d', u, { origin: 'client' }));
    await Promise.resolve();
    expect(doc.toJSON()).toEqual({ list: [] });
    expect(await log.head('d')).toBe(2);
    const changes: Change[] = [];
    doc.onChange((c) => changes.push(c));
    await e.resume('d', { origin: 'op' });
    const seqs = (await Promise.all(acks)).map((a) => a.seq);
    expect(seqs).toEqual([4, 4, 4]); // one batch, one entry
    expect(doc.toJSON()).toEqual({ list: [1, 2, 3] });
    expect(changes).toHaveLength(1);
    const kinds = (await log.read('d')).map((entry) => entry.kind);
    expect(kinds).toEqual(['update', 'lifecycle', 'lifecycle', 'update']);
    await e.close();
  });
});

describe('codecs are transparent to the engine', () => {
  it('an encrypted, compressed log replays the same history', async () => {
    const inner = new MemoryUpdateLog();
    const key = new Uint8Array(32).fill(7);
    const log = withCodecs(inner, {
      compression: { thresholdBytes: 16 },
      encryption: { keys: { k1: key }, currentKeyId: 'k1' },
    });
    const e = engine(log);
    await e.write('d', (tx) => tx.set('/text', 'x'.repeat(200)));
    await e.write('d', (tx) => tx.set('/n', 1));
    await e.close();
    const raw = await inner.read('d');
    expect(raw.every((entry) => entry.keyId === 'k1')).toBe(true);
    const fresh = engine(log);
    expect(await fresh.get('d')).toEqual({ text: 'x'.repeat(200), n: 1 });
    expect((await fresh.stateAt('d', { seq: 1 })).json).toEqual({ text: 'x'.repeat(200) });
    await fresh.close();
  });
});

describe('Engine: document size cap', () => {
  it('refuses a change that would pass maxDocumentBytes with DOCUMENT_TOO_LARGE; the document stays intact', async () => {
    const log = new MemoryUpdateLog();
    const e = engine(log, { maxDocumentBytes: 2000 });
    await e.write('d', (tx) => tx.set('/small', 'x'));
    const big = new Y.Doc();
    big.getMap('state').set('big', 'y'.repeat(5000));
    await expect(e.receive('d', Y.encodeStateAsUpdate(big), { origin: 'client' })).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_TOO_LARGE,
    });
    expect(await e.get('d')).toEqual({ small: 'x' });
    await expect(e.write('d', (tx) => tx.set('/big', 'z'.repeat(5000)))).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_TOO_LARGE,
    });
    await expect(
      e.applyPatch('d', [{ op: 'add', path: '/big', value: 'z'.repeat(5000) }]),
    ).rejects.toMatchObject({ code: ErrorCode.DOCUMENT_TOO_LARGE });
    expect(await e.get('d')).toEqual({ small: 'x' });
    expect(await log.head('d')).toBe(1);
    // Small changes still fit.
    await e.write('d', (tx) => tx.set('/more', 1));
    expect(await e.get('d')).toEqual({ small: 'x', more: 1 });
    // A restarted engine counts what is stored, and still refuses.
    await e.close();
    const again = engine(log, { maxDocumentBytes: 2000 });
    await expect(again.receive('d', Y.encodeStateAsUpdate(big), { origin: 'client' })).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_TOO_LARGE,
    });
    await again.close();
  });
});
