/**
 * Alert thresholds: a moving average per measure; crossing the threshold logs a warning (once),
 * going back under it logs that it cleared, and `/readyz` lists the alerts that are active.
 */

import type { Logger } from 'pino';
import type { AlertThresholds } from './options.js';

/** An alert over its threshold. */
export interface ActiveAlert {
  name: keyof AlertThresholds;
  thresholdMs: number;
  /** The moving average, in ms. */
  valueMs: number;
  /** When it went over (ISO time). */
  since: string;
}

/** Weight of a new sample in the moving average (about the last ten samples matter). */
const ALPHA = 0.2;

interface Measure {
  average: number | undefined;
  since: string | undefined;
}

export class Alerts {
  private readonly measures = new Map<keyof AlertThresholds, Measure>();

  constructor(
    private readonly thresholds: AlertThresholds,
    private readonly logger: Logger,
  ) {}

  /** Adds a sample of a measure (ms). */
  observe(name: keyof AlertThresholds, ms: number): void {
    const threshold = this.thresholds[name];
    if (threshold === undefined) return;
    let measure = this.measures.get(name);
    if (measure === undefined) {
      measure = { average: undefined, since: undefined };
      this.measures.set(name, measure);
    }
    measure.average = measure.average === undefined ? ms : measure.average + ALPHA * (ms - measure.average);
    const over = measure.average > threshold;
    if (over && measure.since === undefined) {
      measure.since = new Date().toISOString();
      this.logger.warn(
        { alert: name, thresholdMs: threshold, valueMs: round(measure.average) },
        `alert: ${name} is over its threshold`,
      );
    } else if (!over && measure.since !== undefined) {
      measure.since = undefined;
      this.logger.info(
        { alert: name, thresholdMs: threshold, valueMs: round(measure.average) },
        `alert cleared: ${name}`,
      );
    }
  }

  /** The alerts over their thresholds now. */
  active(): ActiveAlert[] {
    const active: ActiveAlert[] = [];
    for (const [name, measure] of this.measures) {
      const thresholdMs = this.thresholds[name];
      if (measure.since === undefined || measure.average === undefined || thresholdMs === undefined) continue;
      active.push({ name, thresholdMs, valueMs: round(measure.average), since: measure.since });
    }
    return active;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
