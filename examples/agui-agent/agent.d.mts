import type { BaseEvent, RunAgentInput } from '@ag-ui/core';

export interface AgentOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Host to bind (default 127.0.0.1). */
  host?: string;
  /** Awaited before the state deltas: lets a test edit the document while the agent "thinks". */
  pause?: (input: RunAgentInput) => Promise<void> | void;
  /** What a run adds (default `titlesOf`; a model, say). */
  titles?: (input: RunAgentInput) => Promise<string[]> | string[];
}

/** The events of one run, in order. */
export function agentEvents(
  input: RunAgentInput,
  options?: Pick<AgentOptions, 'pause' | 'titles'>,
): AsyncGenerator<BaseEvent>;

/** What a run adds: `forwardedProps.todos`, else the items of the last user message, else two defaults. */
export function titlesOf(input: RunAgentInput): string[];

/** Starts the agent; every POST is a run. */
export function startAgent(options?: AgentOptions): Promise<{ url: string; close: () => Promise<void> }>;
