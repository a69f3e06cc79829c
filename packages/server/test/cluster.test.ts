/**
 * Two servers, one log and bus: over a spawned Redis (the production setup) and over in-process
 * memory peers. A client on each converges; awareness crosses servers through the bus's signals.
 */

import { Engine, MemorySyncBus, MemoryUpdateLog, type SyncBus, type UpdateLog } from '@ystate/core';
import { createRedisStore } from '@ystate/redis';
import { useRedisServer } from '@ystate/redis/testing';
import { describe, expect, it } from 'vitest';
import {
  type Client,
  connect,
  defer,
  fetchJson,
  startServer,
  synced,
  type TestServer,
  until,
  within,
} from './helpers.js';

/** Resolves once `check` holds for the client's awareness states, checking on each awareness change. */
function awarenessUntil(
  client: Client,
  check: (states: Map<number, Record<string, unknown>>) => boolean,
): Promise<void> {
  const { awareness } = client.provider;
  if (check(awareness.getStates())) return Promise.resolve();
  return within(
    new Promise<void>((resolve) => {
      const onChange = () => {
        if (!check(awareness.getStates())) return;
        awareness.off('change', onChange);
        resolve();
      };
      awareness.on('change', onChange);
    }),
    'awareness',
  );
}

const userOf = (client: Client) => (states: Map<number, Record<string, unknown>>) =>
  (states.get(client.doc.clientID)?.user as { name?: string } | undefined)?.name;

async function convergeAcrossServers(one: TestServer, two: TestServer): Promise<void> {
  const a = connect(one.ws, 'shared/board');
  const b = connect(two.ws, 'shared/board');
  await Promise.all([synced(a), synced(b)]);
  a.text.insert(0, 'from one');
  b.map.set('two', true);
  await until(b.doc, () => b.text.toString() === 'from one', 'b sees a across servers');
  await until(a.doc, () => a.map.get('two') === true, 'a sees b across servers');
  a.text.insert(0, '[');
  b.text.insert(b.text.length, ']');
  await until(a.doc, () => a.text.toString() === '[from one]');
  await until(b.doc, () => b.text.toString() === '[from one]');
  // A client joining either server later gets everything.
  const c = connect(two.ws, 'shared/board');
  await synced(c);
  await until(c.doc, () => c.text.toString() === '[from one]' && c.map.get('two') === true);
  expect(await one.log.head('shared/board')).toBe(await two.log.head('shared/board'));
}

async function awarenessAcrossServers(one: TestServer, two: TestServer): Promise<void> {
  const a = connect(one.ws, 'shared/cursors');
  await synced(a);
  a.provider.awareness.setLocalStateField('user', { name: 'ann' });
  // b joins the other server after ann set her state: its server asks the others for theirs.
  const b = connect(two.ws, 'shared/cursors');
  await synced(b);
  await awarenessUntil(b, (states) => userOf(a)(states) === 'ann');
  b.provider.awareness.setLocalStateField('user', { name: 'bob' });
  await awarenessUntil(a, (states) => userOf(b)(states) === 'bob');
  // When ann leaves, bob's view drops her.
  a.provider.destroy();
  await awarenessUntil(b, (states) => !states.has(a.doc.clientID));
  // Awareness is never logged.
  expect(await one.log.head('shared/cursors')).toBe(0);
}

describe('two servers over Redis', () => {
  const redis = useRedisServer();

  async function node(prefix: string): Promise<TestServer & { bus: SyncBus; log: UpdateLog }> {
    const store = createRedisStore({ redis: redis().url, prefix });
    const engine = new Engine({ log: store.log, bus: store.bus });
    defer(() => store.close());
    defer(() => engine.close());
    const server = await startServer({ engine, bus: store.bus });
    return { ...server, bus: store.bus };
  }

  it('a client on each converges', async () => {
    const prefix = `srv${Date.now()}:`;
    await convergeAcrossServers(await node(prefix), await node(prefix));
  });

  it("awareness reaches the other server's clients", async () => {
    const prefix = `aw${Date.now()}:`;
    await awarenessAcrossServers(await node(prefix), await node(prefix));
  });
});

describe('two servers over memory peers', () => {
  async function pair(): Promise<[TestServer, TestServer]> {
    const log = new MemoryUpdateLog();
    const hub = new MemorySyncBus();
    const nodes: TestServer[] = [];
    for (const bus of [hub, hub.peer()]) {
      const engine = new Engine({ log, bus });
      defer(() => engine.close());
      // Any lag is over a negative threshold: the alert shows the bus is watched.
      nodes.push(await startServer({ engine, bus, alerts: { busLagMs: -1 } }));
    }
    return nodes as [TestServer, TestServer];
  }

  it('a client on each converges; entries from the bus are timed', async () => {
    const [one, two] = await pair();
    await convergeAcrossServers(one, two);
    const metrics = (await fetchJson(`${two.http}/metrics`)).body as string;
    expect(metrics).toMatch(/^ystate_bus_lag_seconds_count [1-9]/m);
    expect((await fetchJson(`${two.http}/readyz`)).body).toMatchObject({
      status: 'ready',
      alerts: [{ name: 'busLagMs', thresholdMs: -1 }],
    });
  });

  it("awareness reaches the other server's clients, and leaves with them", async () => {
    await awarenessAcrossServers(...(await pair()));
  });
});
