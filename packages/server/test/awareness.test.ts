/** Awareness ownership: a connection sets and removes only the awareness states of the client ids it introduced. */

import { SignJWT } from 'jose';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { encodeAwareness } from '../src/protocol.js';
import { connect, fetchJson, rawClient, startServer, synced, within } from './helpers.js';

const secret = 'a-test-secret-of-reasonable-length';

function token(docs: Record<string, 'read' | 'write'>, sub: string): Promise<string> {
  return new SignJWT({ ystate: { docs } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** An awareness message setting (or, with `null`, removing) one client's state at `clock`. */
function awarenessMessage(clientId: number, clock: number, state: unknown): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, clientId);
  encoding.writeVarUint(encoder, clock);
  encoding.writeVarString(encoder, JSON.stringify(state));
  return encodeAwareness(encoding.toUint8Array(encoder));
}

describe('awareness', () => {
  it("a connection (read-only included) can neither overwrite nor remove another client's state; its own work", async () => {
    const { ws, http } = await startServer({ auth: { secret } });
    const alice = connect(ws, 'room', { params: { token: await token({ room: 'write' }, 'alice') } });
    const viewerToken = await token({ room: 'read' }, 'viewer');
    const watcher = connect(ws, 'room', { params: { token: viewerToken } });
    await Promise.all([synced(alice), synced(watcher)]);
    const aliceId = alice.doc.clientID;
    const seen: unknown[] = [];
    watcher.provider.awareness.on('change', () => {
      seen.push(watcher.provider.awareness.getStates().get(aliceId) ?? null);
    });
    const watcherSees = (user: string) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => {
            const state = watcher.provider.awareness.getStates().get(aliceId) as
              | { user?: string }
              | undefined;
            if (state?.user !== user) return;
            watcher.provider.awareness.off('change', check);
            resolve();
          };
          watcher.provider.awareness.on('change', check);
          check();
        }),
        `the watcher sees ${user}`,
      );
    alice.provider.awareness.setLocalState({ user: 'alice' });
    await watcherSees('alice');

    // A read-only connection sends alice's client id with a far higher clock: a new state, then a removal.
    const mallory = rawClient(`${ws}/room?token=${viewerToken}`);
    await mallory.opened;
    mallory.send(awarenessMessage(aliceId, 1000, { user: 'mallory' }));
    mallory.send(awarenessMessage(aliceId, 2000, null));
    // Its own client id is its to set, in the same connection.
    mallory.send(awarenessMessage(424242, 1, { user: 'viewer' }));
    await mallory.roundTrip();

    // Had either forged entry been applied, the server's clock for alice would be past hers and her
    // next state would never be relayed; had it been relayed, the watcher would have seen it first.
    alice.provider.awareness.setLocalState({ user: 'alice, again' });
    await watcherSees('alice, again');
    expect(seen).not.toContainEqual({ user: 'mallory' });
    expect(seen).not.toContain(null);
    expect(watcher.provider.awareness.getStates().get(424242)).toEqual({ user: 'viewer' });

    const metrics = (await fetchJson(`${http}/metrics`)).body as string;
    expect(metrics).toMatch(/^ystate_awareness_dropped_total 2$/m);
    // The connection was not closed for it: dropping is not an error.
    expect(mallory.ws.readyState).toBe(mallory.ws.OPEN);
  });

  it('a client id is free again once its owner removed it or left', async () => {
    const { ws } = await startServer();
    const first = rawClient(`${ws}/room`);
    const second = rawClient(`${ws}/room`);
    const watcher = connect(ws, 'room');
    await Promise.all([first.opened, second.opened, synced(watcher)]);
    const stateOf = () => watcher.provider.awareness.getStates().get(7) as { by?: string } | undefined;
    const watcherSees = (by: string | undefined) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (stateOf()?.by !== by) return;
            watcher.provider.awareness.off('change', check);
            resolve();
          };
          watcher.provider.awareness.on('change', check);
          check();
        }),
        `client 7 set by ${by}`,
      );

    first.send(awarenessMessage(7, 1, { by: 'first' }));
    await watcherSees('first');
    second.send(awarenessMessage(7, 5, { by: 'second' }));
    await second.roundTrip();
    // Had the server taken clock 5 from the second, the first's clock 2 would never get through.
    first.send(awarenessMessage(7, 2, { by: 'first, again' }));
    await watcherSees('first, again');

    first.ws.close();
    await first.closed;
    await watcherSees(undefined);
    second.send(awarenessMessage(7, 9, { by: 'second' }));
    await watcherSees('second');
  });
});
