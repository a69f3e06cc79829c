import { Engine, type UpdateLog } from '@ystate/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../src/index.js';
import { eventually, range, storeFactory, uniqueSchema, usePostgres } from './helpers.js';

const postgres = usePostgres();
const openStore = storeFactory(postgres);

async function expectDenseLog(log: UpdateLog, docId: string): Promise<number> {
  const head = await log.head(docId);
  expect(
    (await log.read(docId)).map((entry) => entry.seq),
    `seqs of ${docId}`,
  ).toEqual(range(1, head));
  return head;
}

const edits = fc.array(
  fc.record({
    node: fc.nat(2),
    doc: fc.nat(1),
    key: fc.constantFrom('a', 'b', 'c'),
    value: fc.integer(),
    push: fc.boolean(),
  }),
  { minLength: 1, maxLength: 30 },
);

describe('three engines on one PostgreSQL', () => {
  for (const [name, options] of [
    ['entries inline in the notification', {}],
    ['entries read by reference', { maxNotifyBytes: 0 }],
    ['no NOTIFY in the append transaction: the engine publishes', { notifyInTransaction: false }],
  ] as const) {
    describe(name, () => {
      let nodes: PostgresStore[] = [];
      beforeAll(async () => {
        const schema = uniqueSchema('conv');
        nodes = await Promise.all(range(0, 2).map(() => openStore({ schema, pool: { max: 4 }, ...options })));
      });

      it('random concurrent edits converge; every log is dense and replays to the JSON every engine holds', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(edits, async (steps) => {
            const docIds = [`docs/${run}/a`, `docs/${run}/b`];
            run++;
            const engines = nodes.map(
              (store, i) =>
                new Engine({
                  log: store.log,
                  bus: store.bus,
                  nodeId: `n${i}`,
                  idleTimeoutMs: Number.POSITIVE_INFINITY,
                }),
            );
            try {
              // Every engine holds the documents open (so it is subscribed) before anyone edits.
              await Promise.all(engines.flatMap((engine) => docIds.map((docId) => engine.open(docId))));
              // One node makes the list and everyone sees it first, so that every push lands in that one list.
              for (const docId of docIds) {
                const { seq } = await engines[0]!.write(docId, (tx) => tx.merge('', { list: [] }));
                await eventually(
                  () => engines.every((engine) => engine.seqOf(docId) === seq),
                  10_000,
                  'the list',
                );
              }
              await Promise.all(
                steps.map(({ node, doc, key, value, push }) =>
                  engines[node]!.write(docIds[doc]!, (tx) =>
                    push ? tx.push('/list', value) : tx.set(`/${key}`, value),
                  ),
                ),
              );
              await Promise.all(engines.map((engine) => engine.flush()));
              for (const docId of docIds) {
                const head = await expectDenseLog(nodes[0]!.log, docId);
                // No catch-up call: entries arrive over NOTIFY, gaps are read from the table.
                await eventually(
                  () => engines.every((engine) => engine.seqOf(docId) === head),
                  10_000,
                  'convergence',
                );
                const replayed = (await engines[1]!.stateAt(docId, { seq: head })).json;
                for (const engine of engines) expect(await engine.get(docId)).toEqual(replayed);
                // Every push of every node is there.
                const pushed = steps
                  .filter((step) => docIds[step.doc] === docId && step.push)
                  .map((step) => step.value);
                expect([...((replayed as { list: number[] }).list ?? [])].sort()).toEqual([...pushed].sort());
              }
            } finally {
              await Promise.all(engines.map((engine) => engine.close()));
            }
          }),
          { numRuns: 8 },
        );
      });
    });
  }
});
