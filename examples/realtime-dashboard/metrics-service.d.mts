export const METRICS: Record<string, { min: number; max: number; start: number; step: number }>;

/** Starts writing metrics to `docId` on the ystate server at `url`. */
export function startMetricsService(options: {
  url: string;
  docId: string;
  intervalMs?: number;
  window?: number;
  token?: string;
}): Promise<{ stop: () => Promise<void>; ticks: () => number }>;
