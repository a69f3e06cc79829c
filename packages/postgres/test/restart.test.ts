import { Engine, type EntryInput, isYStateError } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { eventually, range, storeFactory, uniqueSchema, usePostgres, within } from './helpers.js';

const postgres = usePostgres();
const openStore = storeFactory(postgres);
const text = new TextEncoder();
const decoder = new TextDecoder();

function marked(marker: string): EntryInput {
  return { kind: 'update', time: Date.now(), origin: 'writer', flags: 0, payload: text.encode(marker) };
}

/** A short pause between attempts while the server is down (they fail at once otherwise). */
const backoff = () => new Promise((resolve) => setTimeout(resolve, 25));

describe('PostgreSQL restarted mid-stream (immediate shutdown, then crash recovery)', () => {
  it('keeps every acknowledged append; LISTEN connections come back; three engines converge', async ({
    skip,
  }) => {
    const server = postgres().server;
    if (server === undefined) {
      skip('needs a PostgreSQL cluster of its own to restart');
      return;
    }
    const schema = uniqueSchema('restart');
    const nodes = await Promise.all(
      range(0, 2).map((i) =>
        openStore({
          schema,
          applicationName: `node-${i}`,
          minReconnectDelayMs: 50,
          maxReconnectDelayMs: 500,
          pool: { max: 4, connectionTimeoutMillis: 5000 },
        }),
      ),
    );
    const reconnects = [0, 0, 0];
    nodes.forEach((node, i) => {
      node.bus.onReconnect(() => reconnects[i]!++);
    });
    const engines = nodes.map(
      (node, i) =>
        new Engine({
          log: node.log,
          bus: node.bus,
          nodeId: `n${i}`,
          idleTimeoutMs: Number.POSITIVE_INFINITY,
          // Failed appends during the outage are retried by the engine; the test checks the outcome.
          onError: () => undefined,
        }),
    );
    const docId = 'shared';
    try {
      await Promise.all(engines.map((engine) => engine.open(docId)));
      const { seq: listSeq } = await engines[0]!.write(docId, (tx) => tx.merge('', { list: [] }));
      await eventually(() => engines.every((engine) => engine.seqOf(docId) === listSeq), 10_000, 'the list');

      const acknowledged = new Map<number, string>();
      const pushed: string[] = [];
      let restarted = false;
      let ackedAfter = 0;
      let stop = false;
      let failures = 0;
      // Raw appends: every one that resolved must be in the log at the seq it was given.
      const appender = async (i: number) => {
        for (let n = 0; !stop; n++) {
          const marker = `${i}:${n}`;
          try {
            const [entry] = await within(
              nodes[i]!.log.append('raw', [marked(marker)]),
              `append ${marker}`,
              20_000,
            );
            acknowledged.set(entry!.seq, marker);
            if (restarted) ackedAfter++;
          } catch (error) {
            if (!isYStateError(error)) throw error;
            failures++;
            await backoff();
          }
        }
      };
      // Engine writes: a failed append stays in the document and the engine retries it.
      const writer = async (i: number) => {
        for (let n = 0; !stop; n++) {
          const value = `e${i}:${n}`;
          pushed.push(value);
          try {
            await within(
              engines[i]!.write(docId, (tx) => tx.push('/list', value)),
              `write ${value}`,
              20_000,
            );
          } catch (error) {
            if (!isYStateError(error)) throw error;
            await backoff();
          }
        }
      };
      const running = [...range(0, 2).map(appender), ...range(0, 2).map(writer)];
      await eventually(() => acknowledged.size >= 150, 20_000, '150 acknowledged appends');
      await server.restart('immediate');
      restarted = true;
      await eventually(() => ackedAfter >= 150, 30_000, '150 acknowledged appends after the restart');
      stop = true;
      await Promise.all(running);

      // Every acknowledged append survived, at its seq; the log is dense.
      const raw = await nodes[0]!.log.read('raw');
      const head = await nodes[1]!.log.head('raw');
      expect(raw.map((entry) => entry.seq)).toEqual(range(1, head));
      const bySeq = new Map(raw.map((entry) => [entry.seq, decoder.decode(entry.payload)]));
      for (const [seq, marker] of acknowledged) expect(bySeq.get(seq)).toBe(marker);
      expect(failures).toBeGreaterThan(0);

      // Every LISTEN connection came back (and said so); every engine write reached the log.
      await eventually(() => reconnects.every((count) => count >= 1), 10_000, 'every bus to reconnect');
      await within(Promise.all(engines.map((engine) => engine.flush())), 'flushing the engines', 30_000);
      const docHead = await nodes[2]!.log.head(docId);
      expect((await nodes[2]!.log.read(docId)).map((entry) => entry.seq)).toEqual(range(1, docHead));
      await eventually(
        () => engines.every((engine) => engine.seqOf(docId) === docHead),
        10_000,
        'convergence',
      );
      const replayed = (await engines[0]!.stateAt(docId, { seq: docHead })).json as { list: string[] };
      for (const engine of engines) expect(await engine.get(docId)).toEqual(replayed);
      expect(new Set(replayed.list)).toEqual(new Set(pushed));

      // The bus carries new entries again, without any catch-up.
      const { seq } = await engines[2]!.write(docId, (tx) => tx.set('/after', true));
      await eventually(
        () => engines.every((engine) => engine.seqOf(docId) === seq),
        5000,
        'delivery after restart',
      );
    } finally {
      await Promise.all(engines.map((engine) => engine.close()));
    }
  });
});
