import type { RunAgentInput } from '@ag-ui/core';
import type { Engine, UpdateLog } from '@ystate/core';
import type { Logger } from 'pino';

export interface ExampleOptions {
  /** Port of the page and the ystate server (default 3000; 0 = any free port). */
  port?: number;
  host?: string;
  /** The store directory (default `.ystate`), unless `log` is given. */
  dataDir?: string;
  /** The update log to use instead of a file store (tests: a memory log). */
  log?: UpdateLog;
  /** Awaited by the agent before it writes (tests: people edit while the agent "thinks"). */
  pause?: (input: RunAgentInput) => Promise<void> | void;
  /** What the agent adds; default: a model when OPENAI_API_KEY is set, else the scripted items. */
  titles?: (input: RunAgentInput) => Promise<string[]> | string[];
  logger?: Logger;
}

export interface RunningExample {
  /** The page: `http://host:port/`. */
  readonly url: string;
  readonly engine: Engine;
  /** `scripted` or `model <name>`. */
  readonly agent: string;
  close(): Promise<void>;
}

export const DOC_ID: string;
export const PAGE_DIR: string;
export function startExample(options?: ExampleOptions): Promise<RunningExample>;
