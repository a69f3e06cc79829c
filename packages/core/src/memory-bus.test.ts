import { describe, expect, it } from 'vitest';
import { ErrorCode, isYStateError } from './errors.js';
import type { LogEntry } from './log-entry.js';
import { MemorySyncBus } from './memory-bus.js';
import { runSyncBusTests } from './testing/sync-bus-suite.js';

runSyncBusTests('MemorySyncBus, two nodes sharing one instance', async () => {
  const bus = new MemorySyncBus();
  return { buses: [bus, bus] };
});

runSyncBusTests('MemorySyncBus, two peers on one hub', async () => {
  const bus = new MemorySyncBus();
  return { buses: [bus, bus.peer()] };
});

const entry = (seq: number): LogEntry => ({
  seq,
  kind: 'update',
  time: seq,
  origin: 'n',
  flags: 0,
  payload: Uint8Array.of(seq),
});

/** Resolves after every microtask queued so far (and those they queue) has run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isYStateError(error, code), `expected a YStateError ${code}, got ${String(error)}`).toBe(true);
}

describe('MemorySyncBus', () => {
  it('delivers asynchronously, never inside publish', async () => {
    const bus = new MemorySyncBus();
    const seen: number[] = [];
    await bus.subscribe('d', (entries) => seen.push(...entries.map((e) => e.seq)));
    const published = bus.publish('d', [entry(1)]);
    expect(seen).toEqual([]);
    await published;
    await settle();
    expect(seen).toEqual([1]);
  });

  it('goes on delivering to others when a listener throws, and hands the error to onListenerError', async () => {
    const errors: [unknown, string][] = [];
    const bus = new MemorySyncBus({ onListenerError: (error, docId) => errors.push([error, docId]) });
    const failure = new Error('listener bug');
    const seen: number[] = [];
    await bus.subscribe('d', () => {
      throw failure;
    });
    await bus.subscribe('d', (entries) => seen.push(...entries.map((e) => e.seq)));
    await bus.publish('d', [entry(1)]);
    await bus.publish('d', [entry(2)]);
    await settle();
    expect(seen).toEqual([1, 2]);
    expect(errors).toEqual([
      [failure, 'd'],
      [failure, 'd'],
    ]);
  });

  it('drops deliveries queued before unsubscribe or close', async () => {
    const bus = new MemorySyncBus();
    const peer = bus.peer();
    const unsubscribed: number[] = [];
    const closed: number[] = [];
    const unsubscribe = await bus.subscribe('d', (entries) =>
      unsubscribed.push(...entries.map((e) => e.seq)),
    );
    await peer.subscribe('d', (entries) => closed.push(...entries.map((e) => e.seq)));
    // Both calls take effect before the delivery microtask runs; awaiting in between would let it run.
    const stopped = [bus.publish('d', [entry(1)]), unsubscribe(), peer.close()];
    await Promise.all(stopped);
    await settle();
    expect(unsubscribed).toEqual([]);
    expect(closed).toEqual([]);
  });

  it('gives each listener its own copies of the entries', async () => {
    const bus = new MemorySyncBus();
    const payloads: number[][] = [];
    const sent = entry(1);
    await bus.subscribe('d', ([received]) => {
      received!.payload.fill(99);
    });
    await bus.subscribe('d', ([received]) => {
      payloads.push(Array.from(received!.payload));
    });
    await bus.publish('d', [sent]);
    sent.payload.fill(42);
    await settle();
    expect(payloads).toEqual([[1]]);
  });

  it('closing a peer ends only its own subscriptions', async () => {
    const bus = new MemorySyncBus();
    const peer = bus.peer();
    const onBus: number[] = [];
    const onPeer: number[] = [];
    await bus.subscribe('d', (entries) => onBus.push(...entries.map((e) => e.seq)));
    await peer.subscribe('d', (entries) => onPeer.push(...entries.map((e) => e.seq)));
    await peer.close();
    await bus.publish('d', [entry(1)]);
    await settle();
    expect(onBus).toEqual([1]);
    expect(onPeer).toEqual([]);
    await rejectsWith(peer.publish('d', [entry(2)]), ErrorCode.DOCUMENT_CLOSED);
    await rejectsWith(
      peer.subscribe('d', () => {}),
      ErrorCode.DOCUMENT_CLOSED,
    );
    await bus.close();
    await bus.close();
    await rejectsWith(bus.publish('d', [entry(2)]), ErrorCode.DOCUMENT_CLOSED);
  });
});

describe('MemorySyncBus signals (ephemeral, never logged)', () => {
  it("reach the other nodes' listeners for the document, not the sender's, and stop when unsubscribed", async () => {
    const a = new MemorySyncBus();
    const b = a.peer();
    const got: string[] = [];
    await a.onSignal('d', (m) => got.push(`a:${m[0]}`));
    const stop = await b.onSignal('d', (m) => got.push(`b:${m[0]}`));
    await b.onSignal('other', (m) => got.push(`other:${m[0]}`));
    const delivered = new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
    await a.signal('d', new Uint8Array([1]));
    await delivered;
    expect(got).toEqual(['b:1']);
    await stop();
    await a.signal('d', new Uint8Array([2]));
    await new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
    expect(got).toEqual(['b:1']);
  });
});
