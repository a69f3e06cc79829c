/**
 * The acceptance suite every `SyncBus` runs (memory, Redis Pub/Sub, PostgreSQL LISTEN/NOTIFY).
 * The two buses stand for two nodes; for an in-process bus they may share one hub or be one
 * instance. Tests wait for deliveries as events, with a deadline, never for a fixed time.
 *
 *   runSyncBusTests('MemorySyncBus', async () => { const bus = new MemorySyncBus(); return { buses: [bus, bus.peer()] }; });
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryFlags, type LogEntry } from '../log-entry.js';
import type { BusListener, SyncBus } from '../update-log.js';

/** What a setup hands the suite for one test. */
export interface SyncBusTestContext {
  /** Two nodes' buses. The suite closes both after the test (each instance once). */
  buses: [SyncBus, SyncBus];
  /** Releases what the setup made (servers, connections); runs after the buses are closed. */
  teardown?: () => Promise<void>;
}

/** Makes the context of one test; called before every test. */
export type SyncBusSetup = () => Promise<SyncBusTestContext>;

/** Registers the `SyncBus` acceptance tests under `name`. */
export function runSyncBusTests(name: string, setup: SyncBusSetup): void {
  describe(`SyncBus acceptance: ${name}`, () => {
    let context: SyncBusTestContext;
    let a: SyncBus;
    let b: SyncBus;
    let closed: Set<SyncBus>;

    beforeEach(async () => {
      context = await setup();
      [a, b] = context.buses;
      closed = new Set();
    });

    afterEach(async () => {
      for (const bus of new Set([a, b])) if (!closed.has(bus)) await bus.close();
      await context.teardown?.();
    });

    it('delivers entries published on one bus to a subscriber on the other, with seqs, in order', async () => {
      const received = collector();
      await b.subscribe('projects/42', received.listener);
      const batches = [[entry(1), entry(2)], [entry(3)], [entry(4), entry(5, { kind: 'lifecycle' })]];
      for (const batch of batches) await a.publish('projects/42', batch);
      const got = await received.waitFor(5);
      expect(got.map(view)).toEqual(batches.flat().map(view));
    });

    it('keeps every field exactly: kind, time, origin, flags, keyId and payload bytes', async () => {
      const received = collector();
      await b.subscribe('projects/42', received.listener);
      const sent: LogEntry[] = [
        entry(1, { payload: Uint8Array.from({ length: 256 }, (_, i) => i), origin: 'agent/ümlaut ✓ 🚀' }),
        entry(2, { flags: EntryFlags.encrypted | EntryFlags.compressed, keyId: 'key-9', kind: 'checkpoint' }),
        entry(3, { payload: new Uint8Array(0), time: 0, origin: '' }),
        entry(4, { payload: Uint8Array.from({ length: 16 * 1024 }, (_, i) => (i * 7) & 0xff) }),
      ];
      await a.publish('projects/42', sent);
      const got = await received.waitFor(sent.length);
      expect(got.map(view)).toEqual(sent.map(view));
      for (const delivered of got) expect(delivered.payload).toBeInstanceOf(Uint8Array);
    });

    it('keeps publish order over many publishes', async () => {
      const received = collector();
      await b.subscribe('projects/42', received.listener);
      const sent = Array.from({ length: 50 }, (_, i) => entry(i + 1));
      for (const one of sent) await a.publish('projects/42', [one]);
      expect((await received.waitFor(sent.length)).map((e) => e.seq)).toEqual(sent.map((e) => e.seq));
    });

    it('keeps documents apart, including ids that prefix each other', async () => {
      const long = collector();
      const short = collector();
      await b.subscribe('projects/42', long.listener);
      await b.subscribe('projects/4', short.listener);
      await a.publish('projects/42', [entry(1, { origin: 'long' }), entry(2, { origin: 'long' })]);
      await a.publish('projects/4', [entry(1, { origin: 'short' })]);
      await long.waitFor(2);
      await short.waitFor(1);
      // Barrier: once this later entry arrives, any stray delivery to the other document would have too.
      await a.publish('projects/42', [entry(3, { origin: 'long' })]);
      await a.publish('projects/4', [entry(2, { origin: 'short' })]);
      await long.waitFor(3);
      await short.waitFor(2);
      expect(long.entries.map((e) => [e.origin, e.seq])).toEqual([
        ['long', 1],
        ['long', 2],
        ['long', 3],
      ]);
      expect(short.entries.map((e) => [e.origin, e.seq])).toEqual([
        ['short', 1],
        ['short', 2],
      ]);
    });

    it('delivers to every subscriber of a document, on either bus', async () => {
      const first = collector();
      const second = collector();
      const onPublisher = collector();
      await b.subscribe('projects/42', first.listener);
      await b.subscribe('projects/42', second.listener);
      await a.subscribe('projects/42', onPublisher.listener);
      await a.publish('projects/42', [entry(1), entry(2)]);
      for (const received of [first, second, onPublisher]) {
        expect((await received.waitFor(2)).map((e) => e.seq)).toEqual([1, 2]);
      }
    });

    it('stops delivering after unsubscribe, and only to that subscriber', async () => {
      const leaving = collector();
      const staying = collector();
      const unsubscribe = await b.subscribe('projects/42', leaving.listener);
      await b.subscribe('projects/42', staying.listener);
      await a.publish('projects/42', [entry(1)]);
      await leaving.waitFor(1);
      await staying.waitFor(1);

      await unsubscribe();
      await a.publish('projects/42', [entry(2)]);
      await staying.waitFor(2);
      // Barrier: a second later entry, so a late delivery of entry 2 would have shown up by now.
      await a.publish('projects/42', [entry(3)]);
      await staying.waitFor(3);
      expect(leaving.entries.map((e) => e.seq)).toEqual([1]);
      expect(staying.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it('closes with subscriptions open', async () => {
      const received = collector();
      await a.subscribe('projects/42', received.listener);
      await b.subscribe('projects/42', received.listener);
      await b.subscribe('runs/7f3a', received.listener);
      for (const bus of new Set([a, b])) {
        await expect(bus.close()).resolves.toBeUndefined();
        closed.add(bus);
      }
    });
  });
}

interface Collector {
  readonly listener: BusListener;
  /** Everything delivered so far, flattened, in delivery order. */
  readonly entries: LogEntry[];
  /** Resolves with `entries` once at least `count` arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<LogEntry[]>;
}

function collector(): Collector {
  const entries: LogEntry[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const listener: BusListener = (delivered) => {
    entries.push(...delivered);
    for (const waiter of waiters) if (entries.length >= waiter.count) waiter.resolve();
  };
  const waitFor = (count: number, timeoutMs = 5_000): Promise<LogEntry[]> =>
    new Promise<LogEntry[]>((resolve, reject) => {
      if (entries.length >= count) {
        resolve(entries);
        return;
      }
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(entries);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${count} entries; got ${entries.length}`),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  return { listener, entries, waitFor };
}

function entry(seq: number, overrides: Partial<LogEntry> = {}): LogEntry {
  return {
    seq,
    kind: 'update',
    time: 1_700_000_000_000 + seq,
    origin: 'node-a',
    flags: 0,
    payload: Uint8Array.of(seq & 0xff, (seq >> 8) & 0xff, 0xcd),
    ...overrides,
  };
}

/** An entry as plain data, so comparisons see the bytes whatever Uint8Array subclass holds them. */
function view(entry: LogEntry): Record<string, unknown> {
  const plain: Record<string, unknown> = {
    seq: entry.seq,
    kind: entry.kind,
    time: entry.time,
    origin: entry.origin,
    flags: entry.flags,
    payload: Array.from(entry.payload),
  };
  if (entry.keyId !== undefined) plain.keyId = entry.keyId;
  return plain;
}
