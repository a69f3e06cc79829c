import { Engine, type UpdateLog } from '@ystate/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '../src/index.js';
import { eventually, uniquePrefix, useCluster, useRedisServer } from './helpers.js';

const server = useRedisServer();
const cluster = useCluster(3);

/** Three nodes, each with its own connections, sharing one prefix. */
function threeNodes(config: () => RedisStoreOptions['redis']): () => RedisStore[] {
  let stores: RedisStore[] = [];
  beforeAll(() => {
    const prefix = uniquePrefix('conv');
    stores = [0, 1, 2].map(() => createRedisStore({ redis: config(), prefix }));
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  return () => stores;
}

async function expectDenseLog(log: UpdateLog, docId: string): Promise<number> {
  const head = await log.head(docId);
  const seqs = (await log.read(docId)).map((entry) => entry.seq);
  expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  return head;
}

const steps = fc.array(
  fc.record({
    node: fc.nat(2),
    key: fc.constantFrom('a', 'b', 'c'),
    value: fc.integer(),
    push: fc.boolean(),
  }),
  { minLength: 1, maxLength: 25 },
);

function convergence(name: string, nodes: () => RedisStore[]): void {
  it(`${name}: random concurrent edits on three engines converge over the bus; logs are dense and replay to the same JSON`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (edits) => {
        const docId = `docs/${name}/${run++}`;
        const engines = nodes().map(
          (store, i) =>
            new Engine({
              log: store.log,
              bus: store.bus,
              nodeId: `n${i}`,
              idleTimeoutMs: Number.POSITIVE_INFINITY,
            }),
        );
        try {
          // Every engine holds the document open (so it is subscribed) before anyone edits.
          await Promise.all(engines.map((engine) => engine.open(docId)));
          await Promise.all(engines.map((engine) => engine.write(docId, (tx) => tx.merge('', { list: [] }))));
          await Promise.all(
            edits.map(({ node, key, value, push }) =>
              (engines[node] as Engine).write(docId, (tx) =>
                push ? tx.push('/list', value) : tx.set(`/${key}`, value),
              ),
            ),
          );
          await Promise.all(engines.map((engine) => engine.flush()));
          const log = nodes()[0]!.log;
          const head = await expectDenseLog(log, docId);
          // No catch-up call: entries arrive over Pub/Sub, gaps are read from the list.
          await eventually(
            () => engines.every((engine) => engine.seqOf(docId) === head),
            10_000,
            'convergence',
          );
          const replayed = (await engines[0]!.stateAt(docId, { seq: head })).json;
          for (const engine of engines) expect(await engine.get(docId)).toEqual(replayed);
        } finally {
          await Promise.all(engines.map((engine) => engine.close()));
        }
      }),
      { numRuns: 10 },
    );
  });
}

describe('three engines on one Redis', () => {
  const nodes = threeNodes(() => ({ host: server().host, port: server().port }));
  convergence('single', nodes);
});

describe('three engines on a 3-master Redis Cluster', () => {
  const nodes = threeNodes(() => ({ nodes: [...cluster().startupNodes] }));
  convergence('cluster', nodes);
});
