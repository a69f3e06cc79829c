import type { Engine, UpdateLog } from '@ystate/core';
import type { Logger } from 'pino';

export interface DashboardOptions {
  /** Port of the page and the ystate server (default 3001; 0 = any free port). */
  port?: number;
  host?: string;
  /** The store directory (default `.ystate`), unless `log` is given. */
  dataDir?: string;
  /** The update log to use instead of a file store (tests: a memory log). */
  log?: UpdateLog;
  /** How often the metrics service writes (default 1000 ms). */
  intervalMs?: number;
  logger?: Logger;
}

export interface RunningDashboard {
  /** The page: `http://host:port/`. */
  readonly url: string;
  readonly engine: Engine;
  /** The metrics service: how many ticks it wrote; `stop` ends it after the tick in flight. */
  readonly service: { ticks(): number; stop(): Promise<void> };
  close(): Promise<void>;
}

export const DOC_ID: string;
export const PAGE_DIR: string;
export function startDashboard(options?: DashboardOptions): Promise<RunningDashboard>;
