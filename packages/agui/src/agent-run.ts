/**
 * An agent's run as it reaches the document: each incoming event is validated (AG-UI schema, then
 * the ordering rules), then planned into what it does to the document — lifecycle entries, and for
 * state events a Yjs update — without touching the engine; executing the plan writes it.
 *
 * State events are interpreted where the agent stands: a private fork of the document at the base
 * version the agent was given, to which the agent's own earlier state events are applied as they
 * come. A STATE_DELTA is applied to the fork and the fork's new update is merged into the document
 * (so `add /todos/3` lands after the item the agent saw at index 2, whatever others inserted
 * meanwhile, and a second delta sees the first). A STATE_SNAPSHOT becomes the JSON Patch from the
 * fork's JSON to the snapshot, applied the same way: never a wholesale replace that would erase
 * other people's concurrent edits.
 */

import { type AGUIEvent, EventType } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import {
  diffJson,
  type Engine,
  ErrorCode,
  type HistoricalState,
  isPlainObject,
  isYStateError,
  type Json,
  type LifecycleEvent,
  StateDocument,
  YStateError,
} from '@ystate/core';
import * as Y from 'yjs';
import { ChunkExpander } from './event-chunks.js';
import { EventOrder, ProtocolViolation } from './event-order.js';

/** The names of the lifecycle events a run records (`type: 'event'`, path `''`). */
export const AguiLifecycle = {
  runStarted: 'agui.RUN_STARTED',
  runFinished: 'agui.RUN_FINISHED',
  runError: 'agui.RUN_ERROR',
  stepStarted: 'agui.STEP_STARTED',
  stepFinished: 'agui.STEP_FINISHED',
  /** A completed text message: `{ runId, messageId, role, content }`. */
  textMessage: 'agui.TEXT_MESSAGE',
  /** A completed tool call: `{ runId, toolCallId, toolCallName, parentMessageId?, args }`. */
  toolCall: 'agui.TOOL_CALL',
  /** A tool call's result: `{ runId, toolCallId, messageId, content }`. */
  toolCallResult: 'agui.TOOL_CALL_RESULT',
} as const;

export type AguiLifecycle = (typeof AguiLifecycle)[keyof typeof AguiLifecycle];

/** One step of a plan: record a lifecycle event, or merge a Yjs update made on the agent's fork. */
export type RunAction =
  | { kind: 'record'; event: LifecycleEvent; origin: string }
  | { kind: 'merge'; update: Uint8Array; origin: string };

/** What one incoming event does: the event as validated, what it stands for (chunks expanded), the actions. */
export interface PlannedEvent {
  event: AGUIEvent | undefined;
  events: AGUIEvent[];
  actions: RunAction[];
}

export interface AgentRunOptions {
  /** Who the changes are from, as recorded in the log (default `agui:<runId>`). */
  origin?: string;
}

/** How executing actions went: the last seq written, and the last seq of a state merge. */
export interface ExecutedActions {
  seq: number | undefined;
  mergeSeq: number | undefined;
}

/** One agent run against one document: validates each AG-UI event, plans what it does to the document, and executes the plan (see the top of this file). */
export class AgentRun {
  private readonly order = new EventOrder();
  private readonly chunks = new ChunkExpander();
  private readonly fork: StateDocument;
  private readonly messages = new Map<string, { role: string; content: string }>();
  private readonly toolCalls = new Map<string, { name: string; parentMessageId?: string; args: string }>();
  private index = 0;
  private currentRun: { threadId: string; runId: string } | undefined;
  private ended: 'finished' | 'error' | undefined;

  private constructor(
    private readonly engine: Engine,
    readonly docId: string,
    readonly baseSeq: number,
    base: Uint8Array,
    private readonly fixedOrigin: string | undefined,
  ) {
    const ydoc = new Y.Doc({ gc: false });
    Y.applyUpdate(ydoc, base);
    this.fork = new StateDocument(`${docId}#agent`, { ydoc });
  }

  /** A run whose agent was given the document at `baseSeq`. */
  static async start(
    engine: Engine,
    docId: string,
    options: AgentRunOptions & { baseSeq: number },
  ): Promise<AgentRun> {
    const base = await engine.stateAt(docId, { seq: options.baseSeq });
    return AgentRun.fromState(engine, docId, base, options);
  }

  /** A run whose agent was given `base` (a state read with `engine.stateAt`). */
  static fromState(
    engine: Engine,
    docId: string,
    base: HistoricalState,
    options: AgentRunOptions = {},
  ): AgentRun {
    return new AgentRun(engine, docId, base.seq, base.update, options.origin);
  }

  /** The run's ids once RUN_STARTED arrived. */
  get run(): { threadId: string; runId: string } | undefined {
    return this.currentRun;
  }

  /** How the last run ended, if it did. */
  get outcome(): 'finished' | 'error' | undefined {
    return this.ended;
  }

  /** True while a chunked message or tool call is open (state events injected now would split it). */
  get streaming(): boolean {
    return this.chunks.streaming;
  }

  /** The state as the agent sees it: its base plus its own state events. */
  get agentState(): Record<string, Json> {
    return this.fork.toJSON();
  }

  /** The origin its changes are recorded under. */
  get origin(): string {
    return this.fixedOrigin ?? (this.currentRun ? `agui:${this.currentRun.runId}` : 'agui');
  }

  /**
   * Validates one incoming event and plans what it does. Throws INVALID_EVENT (schema),
   * AGENT_PROTOCOL_VIOLATION (ordering; the message names the rule) or a patch error (a state
   * event that does not apply to the agent's state), having planned nothing.
   */
  plan(input: unknown): PlannedEvent {
    const index = this.index++;
    const parsed = EventSchema.safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
        .join('; ');
      throw new YStateError({
        code: ErrorCode.INVALID_EVENT,
        message: `AG-UI event ${index}${typeOf(input)} is not a valid AG-UI event: ${issues}`,
        cause: parsed.error,
      });
    }
    const event = parsed.data as AGUIEvent;
    try {
      const events = this.chunks.expand(event);
      const actions: RunAction[] = [];
      for (const expanded of events) {
        this.order.check(expanded);
        this.planOne(expanded, index, actions);
      }
      return { event, events, actions };
    } catch (error) {
      throw this.explain(error, index, event.type);
    }
  }

  /** Plans the end of the input: chunked streams still open are closed. */
  planEnd(): PlannedEvent {
    const index = this.index;
    try {
      const events = this.chunks.finish();
      const actions: RunAction[] = [];
      for (const event of events) {
        this.order.check(event);
        this.planOne(event, index, actions);
      }
      return { event: undefined, events, actions };
    } catch (error) {
      throw this.explain(error, index, 'end of input');
    }
  }

  /** Writes planned actions, in order, each once durable. */
  async execute(actions: readonly RunAction[]): Promise<ExecutedActions> {
    const done: ExecutedActions = { seq: undefined, mergeSeq: undefined };
    for (const action of actions) {
      if (action.kind === 'record') {
        done.seq = (await this.engine.record(this.docId, action.event, { origin: action.origin })).seq;
      } else {
        done.seq = (await this.engine.receive(this.docId, action.update, { origin: action.origin })).seq;
        done.mergeSeq = done.seq;
      }
    }
    return done;
  }

  /** Releases the fork. */
  dispose(): void {
    this.fork.destroy();
  }

  private planOne(event: AGUIEvent, index: number, actions: RunAction[]): void {
    const record = (name: AguiLifecycle, data: Record<string, unknown>) =>
      actions.push({
        kind: 'record',
        event: { type: 'event', name, path: '', data: toJson(data) },
        origin: this.origin,
      });
    const runId = this.currentRun?.runId;
    switch (event.type) {
      case EventType.RUN_STARTED:
        this.currentRun = { threadId: event.threadId, runId: event.runId };
        this.ended = undefined;
        this.messages.clear();
        this.toolCalls.clear();
        record(AguiLifecycle.runStarted, {
          threadId: event.threadId,
          runId: event.runId,
          parentRunId: event.parentRunId,
          baseSeq: this.baseSeq,
        });
        return;
      case EventType.RUN_FINISHED:
        this.ended = 'finished';
        record(AguiLifecycle.runFinished, {
          threadId: event.threadId,
          runId: event.runId,
          outcome: event.outcome,
          result: event.result,
        });
        return;
      case EventType.RUN_ERROR:
        this.ended = 'error';
        record(AguiLifecycle.runError, { runId, message: event.message, code: event.code });
        return;
      case EventType.STEP_STARTED:
        record(AguiLifecycle.stepStarted, { runId, stepName: event.stepName });
        return;
      case EventType.STEP_FINISHED:
        record(AguiLifecycle.stepFinished, { runId, stepName: event.stepName });
        return;
      case EventType.TEXT_MESSAGE_START:
        this.messages.set(event.messageId, { role: event.role ?? 'assistant', content: '' });
        return;
      case EventType.TEXT_MESSAGE_CONTENT: {
        const message = this.messages.get(event.messageId);
        if (message) message.content += event.delta;
        return;
      }
      case EventType.TEXT_MESSAGE_END: {
        const message = this.messages.get(event.messageId);
        this.messages.delete(event.messageId);
        record(AguiLifecycle.textMessage, { runId, messageId: event.messageId, ...message });
        return;
      }
      case EventType.TOOL_CALL_START:
        this.toolCalls.set(event.toolCallId, {
          name: event.toolCallName,
          ...(event.parentMessageId === undefined ? {} : { parentMessageId: event.parentMessageId }),
          args: '',
        });
        return;
      case EventType.TOOL_CALL_ARGS: {
        const call = this.toolCalls.get(event.toolCallId);
        if (call) call.args += event.delta;
        return;
      }
      case EventType.TOOL_CALL_END: {
        const call = this.toolCalls.get(event.toolCallId);
        this.toolCalls.delete(event.toolCallId);
        record(AguiLifecycle.toolCall, {
          runId,
          toolCallId: event.toolCallId,
          toolCallName: call?.name,
          parentMessageId: call?.parentMessageId,
          args: call?.args,
        });
        return;
      }
      case EventType.TOOL_CALL_RESULT:
        record(AguiLifecycle.toolCallResult, {
          runId,
          toolCallId: event.toolCallId,
          messageId: event.messageId,
          content: event.content,
        });
        return;
      case EventType.STATE_DELTA:
        this.planMerge(event.delta, index, 'STATE_DELTA', actions);
        return;
      case EventType.STATE_SNAPSHOT: {
        const snapshot: unknown = event.snapshot;
        if (!isPlainObject(snapshot)) {
          throw new YStateError({
            code: ErrorCode.INVALID_VALUE,
            message: `AG-UI event ${index} (STATE_SNAPSHOT): a document's state is a JSON object, not ${describe(snapshot)}`,
          });
        }
        this.planMerge(diffJson(this.fork.toJSON(), toJson(snapshot)), index, 'STATE_SNAPSHOT', actions);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Applies a patch to the fork (all or nothing) and plans merging what it made: the updates the
   * fork's transactions emitted, which hold exactly the structs they added and the deletions they
   * made. (Encoding the fork's state against its state vector from before would give the same
   * structs but the whole delete set the document ever had: its cost, and the merge's, would grow
   * with the document's history instead of the change.)
   */
  private planMerge(patch: unknown, index: number, type: string, actions: RunAction[]): void {
    const made: Uint8Array[] = [];
    const collect = (update: Uint8Array) => made.push(update);
    this.fork.ydoc.on('update', collect);
    try {
      this.fork.applyPatch(patch, { origin: this.origin });
    } catch (cause) {
      if (!isYStateError(cause)) throw cause;
      throw new YStateError({
        code: cause.code,
        message: `AG-UI event ${index} (${type}) does not apply to the state the agent has (base seq ${this.baseSeq} and its own earlier state events): ${cause.message}`,
        cause,
      });
    } finally {
      this.fork.ydoc.off('update', collect);
    }
    // Yjs emits an update only for a transaction that changed something.
    if (made.length === 0) return;
    const update = made.length === 1 ? (made[0] as Uint8Array) : Y.mergeUpdates(made);
    actions.push({ kind: 'merge', update, origin: this.origin });
  }

  private explain(error: unknown, index: number, type: string): unknown {
    if (error instanceof ProtocolViolation) {
      return new YStateError({
        code: ErrorCode.AGENT_PROTOCOL_VIOLATION,
        message: `AG-UI event ${index} (${type}) breaks rule "${error.rule}": ${error.detail}`,
      });
    }
    return error;
  }
}

/** A JSON copy (drops `undefined` members), for lifecycle event data. */
function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function typeOf(input: unknown): string {
  return isPlainObject(input) && typeof input.type === 'string' ? ` (${input.type})` : '';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
