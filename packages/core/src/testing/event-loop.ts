/** Measuring how long work blocks the event loop, for tests and benchmarks (Node only). */

import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The longest event-loop block (ms) while `run` works, measured up to `attempts` times on fresh
 * state until one stays under `boundMs`: a chunk that really blocks that long does so every time,
 * while a moment the OS gave the CPU to another process does not repeat. Returns every measurement.
 */
export async function worstEventLoopBlock(
  run: () => Promise<void>,
  options: { boundMs: number; attempts?: number },
): Promise<{ best: number; measured: number[] }> {
  const measured: number[] = [];
  for (let attempt = 0; attempt < (options.attempts ?? 3); attempt++) {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    try {
      await run();
    } finally {
      delay.disable();
    }
    measured.push(delay.max / 1e6);
    if (delay.max / 1e6 < options.boundMs) break;
  }
  return { best: Math.min(...measured), measured };
}
