import type { Engine } from '@ystate/core';
import type { Logger } from 'pino';

export interface TodosServerOptions {
  /** Port (default 3002; 0 = any free port). */
  port?: number;
  host?: string;
  /** The store directory (default `.ystate`), unless `engine` is given. */
  dataDir?: string;
  /** An engine to serve (the caller closes it); by default one over a file store. */
  engine?: Engine;
  logger?: Logger;
}

export interface RunningTodosServer {
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  close(): Promise<void>;
}

export const DOC_ID: string;
export const PAGE_DIR: string;
export function startTodosServer(options?: TodosServerOptions): Promise<RunningTodosServer>;
