/**
 * A backend service that writes metrics into the dashboard's document over ystate's HTTP API, with
 * `@ystate/client`: every tick, one point per metric appended to `/series/<metric>`, the oldest
 * dropped past `window` points — one JSON Patch per tick, applied as CRDT operations and merged
 * with whatever the browser windows write meanwhile.
 */

import { createClient } from '@ystate/client';

/** The metrics it reports and how each moves (a bounded random walk). */
export const METRICS = {
  cpu: { min: 0, max: 100, start: 35, step: 8 },
  requests: { min: 0, max: 2000, start: 600, step: 120 },
  latency: { min: 5, max: 400, start: 80, step: 25 },
};

/**
 * Starts writing metrics to `docId` on the ystate server at `url`.
 *
 * @param {{ url: string; docId: string; intervalMs?: number; window?: number; token?: string }} options
 * @returns {Promise<{ stop: () => Promise<void>; ticks: () => number }>}
 */
export async function startMetricsService({ url, docId, intervalMs = 1000, window = 60, token }) {
  const client = createClient({ url, ...(token === undefined ? {} : { token }) });
  const { value } = await client.get(docId);
  const series = /** @type {Record<string, { t: number; v: number }[]>} */ (
    (value && typeof value === 'object' && !Array.isArray(value) && value.series) || {}
  );
  // The service owns /series: it creates each list once, before anyone appends to it.
  const missing = Object.keys(METRICS).filter((name) => !Array.isArray(series[name]));
  if (!('series' in (value ?? {}))) await client.patch(docId, [{ op: 'add', path: '/series', value: {} }]);
  if (missing.length > 0) {
    await client.patch(
      docId,
      missing.map((name) => ({ op: 'add', path: `/series/${name}`, value: [] })),
    );
  }
  const lengths = Object.fromEntries(Object.keys(METRICS).map((name) => [name, series[name]?.length ?? 0]));
  const last = Object.fromEntries(
    Object.entries(METRICS).map(([name, metric]) => [name, series[name]?.at(-1)?.v ?? metric.start]),
  );
  let ticks = 0;
  let running = Promise.resolve();
  const tick = async () => {
    const t = Date.now();
    const ops = [];
    for (const [name, metric] of Object.entries(METRICS)) {
      const v = Math.round(
        Math.min(metric.max, Math.max(metric.min, last[name] + (Math.random() - 0.5) * 2 * metric.step)),
      );
      last[name] = v;
      ops.push({ op: 'add', path: `/series/${name}/-`, value: { t, v } });
      if (lengths[name] >= window) ops.push({ op: 'remove', path: `/series/${name}/0` });
      else lengths[name]++;
    }
    await client.patch(docId, ops);
    ticks++;
  };
  const timer = setInterval(() => {
    // One tick at a time; a failed one (server restarting, say) is reported and the next goes on.
    running = running.then(tick).catch((error) => {
      console.warn(`metrics service: ${error instanceof Error ? error.message : String(error)}`);
    });
  }, intervalMs);
  return {
    ticks: () => ticks,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
