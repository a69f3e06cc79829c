/** Loads the real editing traces in ../shared/traces (format in its README) for tests and benchmarks. */

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** One edit: at `pos` delete `deleteCount` characters and insert `text` (like Array.prototype.splice). */
export type TraceEdit = [pos: number, deleteCount: number, text: string];

/** A recorded editing trace in the editing-traces "sequential" format: the text before and after, and its transactions of edits. */
export interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: { time?: string; patches: TraceEdit[] }[];
}

/** Where the traces live: `$YSTATE_TRACES_DIR`, else `shared/traces` beside the repository. */
export function tracesDir(): string {
  if (process.env.YSTATE_TRACES_DIR) return process.env.YSTATE_TRACES_DIR;
  // This file sits at packages/core/{src,dist}/testing/: the repository root is four levels up.
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
  return join(repoRoot, '..', 'shared', 'traces');
}

/** Reads a sequential trace such as `automerge-paper`. */
export function loadSequentialTrace(name: string): SequentialTrace {
  const raw = gunzipSync(readFileSync(join(tracesDir(), `${name}.json.gz`)));
  return JSON.parse(raw.toString('utf8')) as SequentialTrace;
}
