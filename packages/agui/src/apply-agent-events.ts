/** Applying an agent's AG-UI events to a document: state merged at the agent's base, the run recorded. */

import type { Engine } from '@ystate/core';
import { AgentRun, type AgentRunOptions } from './agent-run.js';

export interface ApplyAgentEventsOptions extends AgentRunOptions {
  /** The seq of the state the agent was given (its `RunAgentInput.state`). */
  baseSeq: number;
}

/** What `applyAgentEvents` did. */
export interface AppliedAgentEvents {
  /** Events taken (chunk events count once). */
  events: number;
  /** The seq of the last entry written; `baseSeq` when nothing was written. */
  seq: number;
  /** The last run's ids, once it started. */
  run?: { threadId: string; runId: string };
  /** How the last run ended, if it did. */
  outcome?: 'finished' | 'error';
}

/**
 * Applies an agent's events to a document. Each event is checked against the AG-UI schemas and
 * the ordering rules `@ag-ui/client` enforces; STATE_DELTA and STATE_SNAPSHOT merge at the
 * agent's base version (plus its own earlier state events); RUN_*, STEP_*, TOOL_CALL_* and
 * completed text messages become lifecycle entries. With an array, every event is checked (and
 * every state event applied to the agent's private fork) before anything is written, so a bad
 * event changes nothing; with an async iterable, events are written as they arrive and a bad one
 * stops the stream, changing nothing itself.
 */
export async function applyAgentEvents(
  engine: Engine,
  docId: string,
  events: AsyncIterable<unknown> | readonly unknown[],
  options: ApplyAgentEventsOptions,
): Promise<AppliedAgentEvents> {
  const run = await AgentRun.start(engine, docId, options);
  let count = 0;
  let seq: number | undefined;
  try {
    if (isArray(events)) {
      const plans = events.map((event) => run.plan(event));
      plans.push(run.planEnd());
      count = events.length;
      for (const { actions } of plans) seq = (await run.execute(actions)).seq ?? seq;
    } else {
      for await (const event of events) {
        const { actions } = run.plan(event);
        count++;
        seq = (await run.execute(actions)).seq ?? seq;
      }
      seq = (await run.execute(run.planEnd().actions)).seq ?? seq;
    }
  } finally {
    run.dispose();
  }
  const applied: AppliedAgentEvents = { events: count, seq: seq ?? options.baseSeq };
  if (run.run) applied.run = run.run;
  if (run.outcome) applied.outcome = run.outcome;
  return applied;
}

function isArray(events: AsyncIterable<unknown> | readonly unknown[]): events is readonly unknown[] {
  return Array.isArray(events);
}
