/**
 * postgres-append: what a round of the engine's group commit costs on PostgreSQL when documents
 * share it. A round is one entry (a ~30-byte update) for each of `documents` documents, as the
 * group commit hands it to the store when that many documents changed in the same turn.
 *
 * Setup (not timed): a PostgreSQL cluster of our own (`initdb` on a free port, default settings:
 * `synchronous_commit` on, so each commit waits for its WAL flush), a store on it (pool of 10).
 *
 * Variants, alternating, in this process, each sample on fresh documents:
 * - `appendMany`: the whole round in one statement (one commit, one WAL flush, one round trip),
 *   what the group commit uses since the store has it;
 * - `append` per document: a statement (a commit) per document over the pool, concurrently, what
 *   the group commit did before (a store without `appendMany`).
 * Every sample checks that each document holds its entries with dense seqs. The "peer" is our own
 * predecessor (no other server appends per change to PostgreSQL this way); ratios are against it.
 */

import { createPostgresStore } from '@ystate/postgres';
import { startTestPostgres } from '@ystate/postgres/testing';
import { median, percentile, runScenario } from './harness.mjs';

const variants = [
  { id: 'append-many', label: 'appendMany: one statement per round', role: 'ours' },
  // Not a competitor: the mechanism appendMany replaced, measured as the reference for the ratio.
  { id: 'append-each', label: 'before: append per document', role: 'peer' },
];

await runScenario({
  name: 'postgres-append',
  title: 'A group-commit round on PostgreSQL: one statement for every document, or one each',
  versions: ['@ystate/postgres', 'pg'],
  sizes: {
    smoke: { documents: 20, rounds: 2, roundsPerSample: 10 },
    full: { documents: 100, rounds: 5, roundsPerSample: 100 },
  },
  metrics: [
    { key: 'roundMedianMs', label: 'round, median', unit: 'ms', primary: true },
    { key: 'roundP99Ms', label: 'round, p99', unit: 'ms' },
    { key: 'appendsPerSec', label: 'entries/s', unit: '/s', lowerIsBetter: false },
  ],
  setup,
});

async function setup(size) {
  const postgres = await startTestPostgres();
  const store = await createPostgresStore({ connectionString: postgres.connectionString, pool: { max: 10 } });
  const cleanup = async () => {
    await store.close();
    await postgres.close();
  };
  let sample = 0;
  return {
    params: {
      documents: size.documents,
      roundsPerSample: size.roundsPerSample,
      entryBytes: 30,
      postgres: `${await serverVersion(store)}, a cluster of its own, default settings (synchronous_commit on)`,
      pool: 10,
    },
    variants: variants.map((variant) => ({
      ...variant,
      run: () => runSample(store, variant.id, `s${++sample}`, size),
    })),
    cleanup,
  };
}

async function runSample(store, variant, prefix, { documents, roundsPerSample }) {
  const docIds = Array.from({ length: documents }, (_, d) => `${prefix}/${d}`);
  const entry = () => ({
    kind: 'update',
    time: Date.now(),
    origin: 'bench',
    flags: 0,
    payload: new Uint8Array(30),
  });
  const rounds = [];
  const start = performance.now();
  for (let r = 0; r < roundsPerSample; r++) {
    const batches = docIds.map((docId) => ({ docId, entries: [entry()] }));
    const began = performance.now();
    const outcomes =
      variant === 'append-many'
        ? await store.log.appendMany(batches)
        : await Promise.allSettled(batches.map(({ docId, entries }) => store.log.append(docId, entries)));
    rounds.push(performance.now() - began);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected');
    if (refused) throw refused.reason;
  }
  const timeMs = performance.now() - start;
  for (const docId of docIds) {
    const seqs = (await store.log.read(docId)).map((e) => e.seq);
    if (seqs.length !== roundsPerSample || seqs.some((seq, i) => seq !== i + 1))
      throw new Error(`${docId} holds seqs ${seqs.join(',')}, not 1..${roundsPerSample}`);
  }
  return {
    roundMedianMs: median(rounds),
    roundP99Ms: percentile(rounds, 99),
    appendsPerSec: (documents * roundsPerSample) / (timeMs / 1000),
    verified: true,
  };
}

async function serverVersion(store) {
  const { rows } = await store.pool.query('SHOW server_version');
  return `PostgreSQL ${rows[0].server_version.split(' ')[0]}`;
}
