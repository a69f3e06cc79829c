/**
 * A sampler of a process's CPU and RSS for reconnect-storm.mjs, on a worker thread: it reads
 * /proc/<pid> every `intervalMs` on an event loop of its own, so that a load generator busy with
 * a thousand sockets does not delay the samples.
 *
 * `const sampler = await startSampler({ intervalMs })` starts the worker (it waits);
 * `sampler.watch(pid)` starts sampling that process (at once, without waiting for the worker);
 * `await sampler.stop()` takes a last sample and resolves with them all:
 * `[{ atMs, cpuSeconds, rssMB }]`, `atMs` on the sampler's clock (only differences matter).
 */

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { processUsage } from './servers.mjs';

if (!isMainThread && workerData?.reconnectStormSampler) {
  const { intervalMs } = workerData;
  const samples = [];
  let pid;
  let timer;
  const sample = () => {
    try {
      const { cpuSeconds, rssMB } = processUsage(pid);
      samples.push({ atMs: performance.now(), cpuSeconds, rssMB });
    } catch {
      // The process has exited: nothing more to read.
    }
  };
  parentPort.on('message', (message) => {
    if (message.watch !== undefined) {
      pid = message.watch;
      sample();
      timer = setInterval(sample, intervalMs);
      return;
    }
    clearInterval(timer);
    if (pid !== undefined) sample();
    parentPort.postMessage(samples);
    parentPort.close();
  });
  parentPort.postMessage('ready');
}

/** Starts a worker thread that will sample a process every `intervalMs` (default 50) once told which. */
export async function startSampler({ intervalMs = 50 } = {}) {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { reconnectStormSampler: true, intervalMs },
  });
  const messages = [];
  let wake;
  worker.on('message', (message) => {
    messages.push(message);
    wake?.();
  });
  const next = async () => {
    while (messages.length === 0) {
      await new Promise((resolve, reject) => {
        wake = resolve;
        worker.once('error', reject);
      });
    }
    return messages.shift();
  };
  await next();
  return {
    /** Starts sampling process `pid` (the first sample is taken as soon as the worker hears of it). */
    watch(pid) {
      worker.postMessage({ watch: pid });
    },
    /** Stops sampling; resolves with every sample taken. */
    async stop() {
      worker.postMessage({ stop: true });
      const samples = await next();
      await worker.terminate();
      return samples;
    },
    /** Ends the worker without waiting for its samples (after a failure). */
    close() {
      return worker.terminate();
    },
  };
}

/**
 * The highest CPU use over any window of at least `windowMs` between samples, as a percentage of
 * one core (the whole span when it is shorter), and the mean over the whole span.
 */
export function cpuPeakAndMean(samples, windowMs = 100) {
  if (samples.length < 2) return { peakCpuPct: Number.NaN, meanCpuPct: Number.NaN };
  const pct = (a, b) => (100 * (b.cpuSeconds - a.cpuSeconds)) / ((b.atMs - a.atMs) / 1000);
  const first = samples[0];
  const last = samples.at(-1);
  const meanCpuPct = pct(first, last);
  if (last.atMs - first.atMs <= windowMs) return { peakCpuPct: meanCpuPct, meanCpuPct };
  let peakCpuPct = 0;
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    j = Math.max(j, i + 1);
    while (j < samples.length && samples[j].atMs - samples[i].atMs < windowMs) j++;
    if (j === samples.length) break;
    peakCpuPct = Math.max(peakCpuPct, pct(samples[i], samples[j]));
  }
  return { peakCpuPct, meanCpuPct };
}
