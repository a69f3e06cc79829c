/** Real y-websocket clients against a real server: convergence, late joiners, restarts, document lifecycle, shutdown. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, MemoryUpdateLog } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeUpdate } from '../src/protocol.js';
import { connect, defer, rawClient, startServer, synced, until, within } from './helpers.js';

describe('y-websocket clients', () => {
  it('two clients editing one document converge, through the log', async () => {
    const { ws, engine, log } = await startServer();
    const a = connect(ws, 'notes/today');
    const b = connect(ws, 'notes/today');
    await Promise.all([synced(a), synced(b)]);

    a.text.insert(0, 'hello');
    b.map.set('title', 'from b');
    await until(b.doc, () => b.text.toString() === 'hello', 'b sees a');
    await until(a.doc, () => a.map.get('title') === 'from b', 'a sees b');
    // Concurrent edits at the same place merge the same way on both sides.
    a.text.insert(5, ' world');
    b.text.insert(0, '> ');
    await until(a.doc, () => a.text.toString().length === 13, 'a has both edits');
    await until(b.doc, () => b.text.toString() === a.text.toString(), 'b equals a');
    expect(a.text.toString()).toBe('> hello world');

    // Everything the clients did is in the log, and the server's document holds it.
    expect(await log.head('notes/today')).toBeGreaterThanOrEqual(4);
    expect(await engine.get('notes/today', '/title')).toBe('from b');
  });

  it('a client joining late gets the full state', async () => {
    const { ws } = await startServer();
    const a = connect(ws, 'doc');
    const b = connect(ws, 'doc');
    await Promise.all([synced(a), synced(b)]);
    a.text.insert(0, 'abc');
    b.map.set('n', 1);
    const list = new Y.Array<number>();
    a.map.set('list', list);
    list.push([1, 2, 3]);
    await until(b.doc, () => b.text.toString() === 'abc' && b.map.has('list'), 'b has a');
    await until(a.doc, () => a.map.get('n') === 1, 'a has b');

    const c = connect(ws, 'doc');
    await synced(c);
    await until(c.doc, () => c.map.has('list') && c.map.get('n') === 1, 'c has everything');
    expect(c.text.toString()).toBe('abc');
    expect(c.map.toJSON()).toEqual(a.map.toJSON());
  });

  it('clients joining with nothing get the state as it is when they join, never an older one', async () => {
    // Joiners with an empty state vector share one encoding of the document until it changes.
    const { ws } = await startServer();
    const a = connect(ws, 'doc');
    await synced(a);
    a.text.insert(0, 'one');
    const b = connect(ws, 'doc');
    const c = connect(ws, 'doc');
    await Promise.all([synced(b), synced(c)]);
    await until(b.doc, () => b.text.toString() === 'one', 'b has one');
    await until(c.doc, () => c.text.toString() === 'one', 'c has one');
    a.text.insert(3, ' two');
    await until(b.doc, () => b.text.toString() === 'one two', 'b has two');
    // The change was broadcast before d joined: d only has it if its sync step 2 is current.
    const d = connect(ws, 'doc');
    await synced(d);
    expect(d.text.toString()).toBe('one two');
  });

  it('keeps documents apart: docIds may contain slashes, each its own log', async () => {
    const { ws, log } = await startServer();
    const one = connect(ws, 'projects/1');
    const two = connect(ws, 'projects/1/tasks');
    await Promise.all([synced(one), synced(two)]);
    one.text.insert(0, 'one');
    two.text.insert(0, 'two');
    const again = connect(ws, 'projects/1');
    await synced(again);
    await until(again.doc, () => again.text.toString() === 'one');
    expect((await log.docIds()).sort()).toEqual(['projects/1', 'projects/1/tasks']);
  });

  it('a reconnecting client with nothing new logs nothing', async () => {
    const { ws, log } = await startServer();
    const a = connect(ws, 'doc');
    await synced(a);
    a.text.insert(0, 'some text');
    a.text.delete(0, 5);
    const b = connect(ws, 'doc');
    await synced(b);
    await until(b.doc, () => b.text.toString() === 'text');
    const head = await log.head('doc');

    // Each reconnect sends sync step 2 (with the whole delete set): it adds nothing, so nothing is logged.
    for (let i = 0; i < 3; i++) {
      a.provider.disconnect();
      a.provider.connect();
      await synced(a);
    }
    const raw = rawClient(`${ws}/doc`);
    await raw.opened;
    raw.send(encodeUpdate(Y.encodeStateAsUpdate(a.doc)));
    await raw.roundTrip();
    expect(await log.head('doc')).toBe(head);
  });

  it('ignores an update that adds nothing, with or without an onChange hook: counted, never logged, no hook call', async () => {
    for (const withHook of [false, true]) {
      const calls: string[] = [];
      const hooks = withHook ? { onChange: () => void calls.push('onChange') } : {};
      const { ws, http, log } = await startServer({ hooks });
      const alice = connect(ws, 'redundant');
      await synced(alice);
      alice.map.set('a', 1);
      await expect.poll(() => log.head('redundant')).toBe(1);
      const hookCalls = calls.length;

      const ignored = async () => {
        const text = await (await fetch(`${http}/metrics`)).text();
        return Number(/ystate_updates_ignored_total\{reason="redundant"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      const before = await ignored();

      // Alice's change again, from another connection: everything in it is there already.
      const raw = rawClient(`${ws}/redundant`);
      await raw.opened;
      raw.send(encodeUpdate(Y.encodeStateAsUpdate(alice.doc)));
      await raw.roundTrip();
      await expect.poll(ignored).toBe(before + 1);
      expect(await log.head('redundant')).toBe(1);
      expect(calls).toHaveLength(hookCalls);
      expect(raw.ws.readyState).toBe(raw.ws.OPEN);
    }
  });

  it('updates logged together reach every other client, the sender of the last one included', async () => {
    // Appends wait until released, so the updates of a and b queue behind x's and go out in one batch.
    const log = new MemoryUpdateLog();
    const append = log.append.bind(log);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    log.append = async (docId, entries) => {
      await held;
      return append(docId, entries);
    };
    const { ws } = await startServer({ log });
    const join = async (name: string) => {
      const raw = rawClient(`${ws}/doc`);
      await raw.opened;
      await raw.roundTrip();
      const mine = new Y.Doc();
      mine.getMap('state').set(name, true);
      return { raw, update: Y.encodeStateAsUpdate(mine), seen: new Y.Doc() };
    };
    const x = await join('x');
    const a = await join('a');
    const b = await join('b');
    for (const client of [x, a, b]) {
      client.raw.ws.on('message', (data: Buffer) => {
        const bytes = new Uint8Array(data);
        // [messageSync, messageYjsUpdate, length…, update]: apply what the server broadcasts.
        if (bytes[0] === 0 && bytes[1] === 2) Y.applyUpdate(client.seen, decodeUpdateMessage(bytes));
      });
    }
    x.raw.send(encodeUpdate(x.update));
    await x.raw.roundTrip();
    a.raw.send(encodeUpdate(a.update));
    b.raw.send(encodeUpdate(b.update));
    await Promise.all([a.raw.roundTrip(), b.raw.roundTrip()]);
    release();
    await until(a.seen, (d) => d.getMap('state').get('b') === true, 'a gets b');
    await until(b.seen, (d) => d.getMap('state').get('a') === true, 'b gets a');
    await until(x.seen, (d) => d.getMap('state').get('a') === true && d.getMap('state').get('b') === true);
    expect(await log.head('doc')).toBe(3);
  });

  it('restarting the server on the same file log brings the state back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ystate-server-'));
    defer(() => rm(dir, { recursive: true, force: true }));

    const first = await startServer({ log: await openFileLog({ dir }) });
    const a = connect(first.ws, 'persisted/doc');
    const observer = connect(first.ws, 'persisted/doc');
    await Promise.all([synced(a), synced(observer)]);
    a.text.insert(0, 'durable');
    a.map.set('count', 3);
    // The server broadcasts only what the log holds: once the observer has both edits, they are durable.
    await until(observer.doc, () => observer.map.get('count') === 3 && observer.text.length === 7);
    a.provider.destroy();
    observer.provider.destroy();
    await first.server.close();
    await first.engine.close();
    await first.log.close();

    const second = await startServer({ log: await openFileLog({ dir }) });
    defer(() => second.log.close());
    const b = connect(second.ws, 'persisted/doc');
    await synced(b);
    await until(
      b.doc,
      () => b.text.toString() === 'durable' && b.map.get('count') === 3,
      'state from the log',
    );
  });

  it('releases a document in the engine when its last connection closes', async () => {
    const { ws, engine } = await startServer({ idleTimeoutMs: 0 });
    const a = connect(ws, 'short-lived');
    const b = connect(ws, 'short-lived');
    await Promise.all([synced(a), synced(b)]);
    expect(engine.registry.list()).toContain('short-lived');
    const closed = within(
      new Promise<void>((resolve) => {
        engine.registry.on('closed', (docId) => {
          if (docId === 'short-lived') resolve();
        });
      }),
      'the document to be evicted',
    );
    a.provider.destroy();
    b.provider.destroy();
    await closed;
    expect(engine.registry.list()).not.toContain('short-lived');
  });

  it('close() flushes, then closes connections with 1012 so clients reconnect elsewhere', async () => {
    const log = new MemoryUpdateLog();
    const engine = new Engine({ log });
    defer(() => engine.close());
    const { server, ws } = await startServer({ engine });
    const raw = rawClient(`${ws}/doc`);
    await raw.opened;
    const source = new Y.Doc();
    source.getText('text').insert(0, 'last words');
    raw.send(encodeUpdate(Y.encodeStateAsUpdate(source)));
    await raw.roundTrip();
    await server.close();
    expect(await raw.closed).toEqual({ code: 1012, reason: 'SERVICE_RESTART' });
    expect(await log.head('doc')).toBe(1);
    // No longer listening.
    await expect(fetch(ws.replace('ws:', 'http:'))).rejects.toThrow();
  });
});

/** The Yjs update inside a y-websocket update message. */
function decodeUpdateMessage(bytes: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(bytes);
  decoding.readVarUint(decoder);
  decoding.readVarUint(decoder);
  return decoding.readVarUint8Array(decoder);
}
