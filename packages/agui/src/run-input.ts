/** An AG-UI run over HTTP: its input, validated, and how it ended. */

import type { RunAgentInput } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { ErrorCode, isPlainObject, YStateError } from '@ystate/core';

/** How a run served over `/agui` ended. */
export interface RunEnd {
  docId: string;
  threadId: string;
  runId: string;
  /** `finished`: RUN_FINISHED sent; `error`: RUN_ERROR sent; `aborted`: the client went away. */
  reason: 'finished' | 'error' | 'aborted';
  /** Why, in words (`idle`, `max-duration`, `server`, `client`, an error message, …). */
  detail: string;
}

/** Validates a request body as `RunAgentInput` (INVALID_VALUE naming the fault). */
export function parseRunAgentInput(body: unknown): RunAgentInput {
  const parsed = RunAgentInputSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
      .join('; ');
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `not a RunAgentInput: ${issues}`,
      cause: parsed.error,
    });
  }
  return parsed.data as RunAgentInput;
}

/** What a run asks of ystate in `forwardedProps.ystate`. */
export interface YStateRunProps {
  idleMs?: number;
  path?: string;
  /** Resume from this seq (validated where it is used: any value but undefined is checked). */
  since?: unknown;
  /** Undo an earlier run first: `{ run: "<runId>" }` (validated where it is used). */
  undo?: unknown;
}

/** What a run asks of ystate in `forwardedProps.ystate`: `{ idleMs?, path?, since?, undo? }`. */
export function ystatePropsOf(input: RunAgentInput): YStateRunProps {
  const props: unknown = input.forwardedProps;
  const ystate = isPlainObject(props) ? props.ystate : undefined;
  if (!isPlainObject(ystate)) return {};
  const out: YStateRunProps = {};
  if (typeof ystate.idleMs === 'number' && ystate.idleMs >= 0) out.idleMs = ystate.idleMs;
  if (typeof ystate.path === 'string') out.path = ystate.path;
  if (ystate.since !== undefined && ystate.since !== null) out.since = ystate.since;
  if (ystate.undo !== undefined) out.undo = ystate.undo;
  return out;
}
