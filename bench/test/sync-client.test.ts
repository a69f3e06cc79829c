import { readlinkSync, realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { node22 } from '../node-22.mjs';
import { connectProvider } from '../providers.mjs';
import { type ServerProcess, startServer } from '../servers.mjs';
import { MarkerWriter, markersIn, SyncClient } from '../sync-client.mjs';

// The load generator's raw protocol client must speak each server's dialect as the real client
// libraries do: what it writes reaches a real provider, what a real provider writes reaches it, and
// a reconnecting raw client hands a server the state it lacks. Each server runs as its own process.

/** A real client of `server`: y-websocket's provider, or Hocuspocus's for Hocuspocus. */
const realClient = (server: ServerProcess, docId: string) => connectProvider(server.kind, server.url, docId);

/** Resolves once `doc`'s bench map holds `value` at `key`. */
function holds(doc: Y.Doc, key: string, value: string): Promise<void> {
  const map = doc.getMap('bench');
  return new Promise((resolve) => {
    const check = () => {
      if (map.get(key) !== value) return;
      doc.off('update', check);
      resolve();
    };
    doc.on('update', check);
    check();
  });
}

/** Resolves once `client` has received `marker`. */
function receives(client: SyncClient, marker: string): Promise<void> {
  return new Promise((resolve) => {
    client.onMarker = (received: string) => {
      if (received === marker) resolve();
    };
  });
}

describe('markersIn', () => {
  it('finds every marker in a message, in order, and nothing in bytes without one', () => {
    const writer = new MarkerWriter('w7');
    const first = writer.next();
    const second = writer.next();
    const merged = Buffer.from(Y.mergeUpdates([first.update, second.update]));
    expect(markersIn(Buffer.from(first.update))).toEqual(['w7.0']);
    // A merged update keeps the deleted first value's bytes only when Yjs keeps them; the live one is always there.
    expect(markersIn(merged)).toContain('w7.1');
    expect(markersIn(Buffer.from([0, 0, 126, 77]))).toEqual([]);
  });
});

describe.each(['ystate', 'y-websocket-server', 'y-websocket-2', 'hocuspocus-4', 'hocuspocus-3'] as const)(
  'the raw sync client against %s',
  (kind) => {
    let server: ServerProcess;
    beforeAll(async () => {
      // A first Hocuspocus 4 start may install Node 22 (node-22.mjs) from the registry.
      server = await startServer(kind);
    }, 300_000);

    it.runIf(kind === 'hocuspocus-4')('runs Hocuspocus 4 on the Node 22 it installed', async () => {
      expect(readlinkSync(`/proc/${server.pid}/exe`)).toBe(realpathSync(await node22()));
    });
    afterAll(() => server?.close());

    it('syncs, and its updates reach a real client and another raw client', async () => {
      const real = realClient(server, 'to-real');
      const writer = new SyncClient(server, 'to-real');
      const reader = new SyncClient(server, 'to-real');
      try {
        await Promise.all([real.synced, writer.synced, reader.synced]);
        const { marker, update } = new MarkerWriter('raw').next();
        const seen = Promise.all([holds(real.doc, 'raw', `~M${marker}~`), receives(reader, marker)]);
        writer.sendUpdate(update);
        await seen;
      } finally {
        real.destroy();
        await Promise.all([writer.close(), reader.close()]);
      }
    });

    it("receives a real client's edits", async () => {
      const real = realClient(server, 'from-real');
      const reader = new SyncClient(server, 'from-real');
      try {
        await Promise.all([real.synced, reader.synced]);
        const seen = receives(reader, 'real.0');
        real.doc.getMap('bench').set('k', '~Mreal.0~');
        await seen;
      } finally {
        real.destroy();
        await reader.close();
      }
    });

    it('hands the server what it lacks of its doc, as a reconnecting client does', async () => {
      const state = new Y.Doc();
      state.getText('text').insert(0, 'kept by the client');
      const raw = new SyncClient(server, 'from-doc', { doc: state });
      await raw.synced;
      const real = realClient(server, 'from-doc');
      try {
        await real.synced;
        const text = real.doc.getText('text');
        if (text.toString() !== 'kept by the client') {
          await new Promise<void>((resolve) => text.observe(() => resolve()));
        }
        expect(text.toString()).toBe('kept by the client');
      } finally {
        real.destroy();
        await raw.close();
      }
    });
  },
);
