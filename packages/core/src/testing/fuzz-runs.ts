/** How many cases the long property tests run, scaled for CI's extra Node versions. */

/**
 * `runs`, times `YSTATE_FUZZ_SCALE` when that is set (CI sets 0.2 on the Node versions after the
 * first: with a fixed seed, the first fifth of the same cases), and at least one.
 */
export function fuzzRuns(runs: number): number {
  const raw = process.env.YSTATE_FUZZ_SCALE;
  if (raw === undefined || raw === '') return runs;
  const scale = Number(raw);
  if (!(scale > 0)) throw new Error(`YSTATE_FUZZ_SCALE must be a number above 0, got "${raw}"`);
  return Math.max(1, Math.round(runs * scale));
}
