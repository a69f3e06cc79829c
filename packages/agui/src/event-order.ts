/**
 * The ordering rules `@ag-ui/client` enforces on an event stream (its `verifyEvents`), as a state
 * machine that names the rule an event breaks: a run starts with RUN_STARTED, nothing follows
 * RUN_FINISHED or RUN_ERROR but a new run, text messages, tool calls, reasoning, steps and
 * subagents open before they continue and close once, a run finishes only when all of them are
 * closed, and a continuation stays with the subagent that opened it.
 */

import { type AGUIEvent, EventType } from '@ag-ui/core';

/** The rules, by the name an AGENT_PROTOCOL_VIOLATION message quotes. */
export const AgentProtocolRule = {
  /** The first event of a stream is RUN_STARTED (or RUN_ERROR). */
  runStartedFirst: 'run-started-first',
  /** RUN_STARTED only when no run is active. */
  oneRunAtATime: 'one-run-at-a-time',
  /** After RUN_FINISHED only RUN_STARTED (a new run) or RUN_ERROR. */
  nothingAfterRunFinished: 'nothing-after-run-finished',
  /** After RUN_ERROR only RUN_STARTED (a new run). */
  nothingAfterRunError: 'nothing-after-run-error',
  /** RUN_FINISHED only when every step, message, tool call, reasoning and subagent is closed. */
  runFinishesClosed: 'run-finishes-closed',
  /** TEXT_MESSAGE_START of an id that is not open; CONTENT and END of one that is. */
  textMessagePairing: 'text-message-pairing',
  /** TOOL_CALL_START of an id that is not open; ARGS and END of one that is. */
  toolCallPairing: 'tool-call-pairing',
  /** REASONING_START / REASONING_MESSAGE_START, their continuations and ends, pair up the same way. */
  reasoningPairing: 'reasoning-pairing',
  /** STEP_STARTED of a step that is not active; STEP_FINISHED of one that is. */
  stepPairing: 'step-pairing',
  /** SUBAGENT_STARTED once per id (and after its parent); FINISHED/ERROR of an active one. */
  subagentPairing: 'subagent-pairing',
  /** A continuation's subagentRunId matches the subagent that opened the message or tool call. */
  sameSubagent: 'same-subagent',
  /** The first chunk of a chunked message or tool call carries its id (and a tool call its name). */
  chunkIdentified: 'chunk-identified',
} as const;

export type AgentProtocolRule = (typeof AgentProtocolRule)[keyof typeof AgentProtocolRule];

/** An event that breaks a rule; turned into an AGENT_PROTOCOL_VIOLATION by whoever knows its position. */
export class ProtocolViolation {
  constructor(
    readonly rule: AgentProtocolRule,
    readonly detail: string,
  ) {}
}

type Owner = string | undefined;

/** Checks events one at a time against the rules; `check` throws a `ProtocolViolation`. */
export class EventOrder {
  private first = true;
  private runActive = false;
  private runFinished = false;
  private runErrored = false;
  private readonly messages = new Set<string>();
  private readonly toolCalls = new Set<string>();
  private readonly reasoningSpans = new Set<string>();
  private readonly reasoningMessages = new Set<string>();
  private readonly steps = new Map<Owner, Set<string>>();
  private readonly subagents = new Set<string>();
  private readonly closedSubagents = new Set<string>();
  private readonly owners = {
    message: new Map<string, Owner>(),
    toolCall: new Map<string, Owner>(),
    reasoning: new Map<string, Owner>(),
  };

  /** True while a run is active (started, not finished or errored). */
  get inRun(): boolean {
    return this.runActive;
  }

  check(event: AGUIEvent): void {
    const { type } = event;
    if (this.runErrored && type !== EventType.RUN_STARTED) {
      fail('nothingAfterRunError', `the run already ended with RUN_ERROR; start a new run with RUN_STARTED`);
    }
    if (this.runFinished && type !== EventType.RUN_STARTED && type !== EventType.RUN_ERROR) {
      fail(
        'nothingAfterRunFinished',
        `the run already ended with RUN_FINISHED; start a new run with RUN_STARTED`,
      );
    }
    if (this.first) {
      this.first = false;
      if (type !== EventType.RUN_STARTED && type !== EventType.RUN_ERROR) {
        fail('runStartedFirst', `the first event must be RUN_STARTED, not ${type}`);
      }
    } else if (type === EventType.RUN_STARTED && this.runActive) {
      fail('oneRunAtATime', 'a run is still active; finish it with RUN_FINISHED before starting another');
    }
    const tag = 'subagentRunId' in event ? event.subagentRunId : undefined;
    switch (event.type) {
      case EventType.RUN_STARTED:
        this.reset();
        this.runActive = true;
        return;
      case EventType.RUN_FINISHED:
        this.checkAllClosed();
        this.runActive = false;
        this.runFinished = true;
        return;
      case EventType.RUN_ERROR:
        this.runActive = false;
        this.runErrored = true;
        return;
      case EventType.TEXT_MESSAGE_START:
        this.open(
          this.messages,
          this.owners.message,
          event.messageId,
          tag,
          'textMessagePairing',
          'text message',
        );
        return;
      case EventType.TEXT_MESSAGE_CONTENT:
      case EventType.TEXT_MESSAGE_END:
        this.continueOpen(
          this.messages,
          this.owners.message,
          event.messageId,
          tag,
          'textMessagePairing',
          'text message',
          event.type === EventType.TEXT_MESSAGE_END,
        );
        return;
      case EventType.TOOL_CALL_START:
        this.open(
          this.toolCalls,
          this.owners.toolCall,
          event.toolCallId,
          tag ?? this.ownerOfMessage(event.parentMessageId),
          'toolCallPairing',
          'tool call',
        );
        return;
      case EventType.TOOL_CALL_ARGS:
      case EventType.TOOL_CALL_END:
        this.continueOpen(
          this.toolCalls,
          this.owners.toolCall,
          event.toolCallId,
          tag,
          'toolCallPairing',
          'tool call',
          event.type === EventType.TOOL_CALL_END,
        );
        return;
      case EventType.REASONING_START:
        this.open(
          this.reasoningSpans,
          this.owners.reasoning,
          event.messageId,
          tag,
          'reasoningPairing',
          'reasoning span',
        );
        return;
      case EventType.REASONING_MESSAGE_START:
        this.open(
          this.reasoningMessages,
          this.owners.reasoning,
          event.messageId,
          tag,
          'reasoningPairing',
          'reasoning message',
        );
        return;
      case EventType.REASONING_MESSAGE_CONTENT:
      case EventType.REASONING_MESSAGE_END:
        this.continueOpen(
          this.reasoningMessages,
          this.owners.reasoning,
          event.messageId,
          tag,
          'reasoningPairing',
          'reasoning message',
          event.type === EventType.REASONING_MESSAGE_END,
        );
        return;
      case EventType.REASONING_END:
        this.continueOpen(
          this.reasoningSpans,
          this.owners.reasoning,
          event.messageId,
          tag,
          'reasoningPairing',
          'reasoning span',
          true,
        );
        return;
      case EventType.STEP_STARTED: {
        const active = this.stepsOf(tag);
        if (active.has(event.stepName)) {
          fail(
            'stepPairing',
            `step "${event.stepName}" is already active; finish it with STEP_FINISHED first`,
          );
        }
        active.add(event.stepName);
        return;
      }
      case EventType.STEP_FINISHED: {
        if (!this.stepsOf(tag).delete(event.stepName)) {
          fail(
            'stepPairing',
            `step "${event.stepName}" was not started${tag === undefined ? '' : ` by subagent "${tag}"`}`,
          );
        }
        return;
      }
      case EventType.SUBAGENT_STARTED: {
        const id = event.subagentRunId;
        if (this.subagents.has(id) || this.closedSubagents.has(id)) {
          fail(
            'subagentPairing',
            `subagent "${id}" was already started in this run; subagent ids are per invocation`,
          );
        }
        const parent = event.parentSubagentRunId;
        if (parent !== undefined && !this.subagents.has(parent) && !this.closedSubagents.has(parent)) {
          fail('subagentPairing', `parent subagent "${parent}" has not been started in this run`);
        }
        this.subagents.add(id);
        return;
      }
      case EventType.SUBAGENT_FINISHED:
      case EventType.SUBAGENT_ERROR: {
        const id = event.subagentRunId;
        if (!this.subagents.delete(id)) {
          fail('subagentPairing', `no active subagent "${id}"; SUBAGENT_STARTED must come first`);
        }
        this.closedSubagents.add(id);
        return;
      }
      default:
        return;
    }
  }

  private reset(): void {
    this.runFinished = false;
    this.runErrored = false;
    this.messages.clear();
    this.toolCalls.clear();
    this.reasoningSpans.clear();
    this.reasoningMessages.clear();
    this.steps.clear();
    this.subagents.clear();
    this.closedSubagents.clear();
    this.owners.message.clear();
    this.owners.toolCall.clear();
    this.owners.reasoning.clear();
  }

  private open(
    active: Set<string>,
    owners: Map<string, Owner>,
    id: string,
    tag: Owner,
    rule: keyof typeof AgentProtocolRule,
    what: string,
  ): void {
    if (active.has(id)) fail(rule, `${what} "${id}" is already open; close it first`);
    if (owners.has(id)) this.checkOwner(owners.get(id), tag, what, id);
    else owners.set(id, tag);
    active.add(id);
  }

  private continueOpen(
    active: Set<string>,
    owners: Map<string, Owner>,
    id: string,
    tag: Owner,
    rule: keyof typeof AgentProtocolRule,
    what: string,
    closes: boolean,
  ): void {
    if (!active.has(id)) fail(rule, `no ${what} "${id}" is open; start it first`);
    this.checkOwner(owners.get(id), tag, what, id);
    if (closes) active.delete(id);
  }

  private checkOwner(owner: Owner, tag: Owner, what: string, id: string): void {
    if (tag !== undefined && owner !== tag) {
      fail(
        'sameSubagent',
        `subagentRunId "${tag}" does not match the subagent that opened ${what} "${id}" (${owner === undefined ? 'the parent agent' : `"${owner}"`})`,
      );
    }
  }

  private ownerOfMessage(messageId: string | undefined): Owner {
    return messageId === undefined ? undefined : this.owners.message.get(messageId);
  }

  private stepsOf(owner: Owner): Set<string> {
    let steps = this.steps.get(owner);
    if (steps === undefined) {
      steps = new Set();
      this.steps.set(owner, steps);
    }
    return steps;
  }

  private checkAllClosed(): void {
    const open: string[] = [];
    for (const [owner, names] of this.steps) {
      for (const name of names)
        open.push(`step "${name}"${owner === undefined ? '' : ` (subagent "${owner}")`}`);
    }
    for (const id of this.messages) open.push(`text message "${id}"`);
    for (const id of this.toolCalls) open.push(`tool call "${id}"`);
    for (const id of this.reasoningMessages) open.push(`reasoning message "${id}"`);
    for (const id of this.reasoningSpans) open.push(`reasoning span "${id}"`);
    for (const id of this.subagents) open.push(`subagent "${id}"`);
    if (open.length > 0) fail('runFinishesClosed', `RUN_FINISHED while still open: ${open.join(', ')}`);
  }
}

function fail(rule: keyof typeof AgentProtocolRule, detail: string): never {
  throw new ProtocolViolation(AgentProtocolRule[rule], detail);
}
