/**
 * Chunk events (TEXT_MESSAGE_CHUNK, TOOL_CALL_CHUNK, REASONING_MESSAGE_CHUNK) expanded into the
 * start/content/end events they stand for, as `@ag-ui/client` does before it verifies a stream:
 * a chunk continues the open chunked stream of its lane (the agent, or one subagent) when its id
 * matches or is absent, and otherwise closes it and opens a new one; any other event of that lane
 * closes the open stream first, and run boundaries close every lane.
 */

import { type AGUIEvent, EventType } from '@ag-ui/core';
import { ProtocolViolation } from './event-order.js';

type Lane = string | undefined;

interface OpenStream {
  kind: 'text' | 'tool' | 'reasoning';
  id: string;
}

/** Event types that close the open chunked stream of their own lane. */
const closesLane = new Set<string>([
  EventType.TEXT_MESSAGE_START,
  EventType.TEXT_MESSAGE_CONTENT,
  EventType.TEXT_MESSAGE_END,
  EventType.TOOL_CALL_START,
  EventType.TOOL_CALL_ARGS,
  EventType.TOOL_CALL_END,
  EventType.TOOL_CALL_RESULT,
  EventType.STATE_SNAPSHOT,
  EventType.STATE_DELTA,
  EventType.CUSTOM,
  EventType.STEP_STARTED,
  EventType.STEP_FINISHED,
  EventType.REASONING_START,
  EventType.REASONING_MESSAGE_START,
  EventType.REASONING_MESSAGE_CONTENT,
  EventType.REASONING_MESSAGE_END,
  EventType.REASONING_END,
]);

/** Event types that close every lane. */
const closesAll = new Set<string>([
  EventType.RUN_STARTED,
  EventType.RUN_FINISHED,
  EventType.RUN_ERROR,
  EventType.MESSAGES_SNAPSHOT,
]);

export class ChunkExpander {
  private readonly lanes = new Map<Lane, OpenStream>();

  /** True while a chunked message or tool call is open: events injected now would close it. */
  get streaming(): boolean {
    return this.lanes.size > 0;
  }

  /** The events `event` stands for (itself, unless it is a chunk), after closing what it closes. */
  expand(event: AGUIEvent): AGUIEvent[] {
    const lane: Lane = 'subagentRunId' in event ? event.subagentRunId : undefined;
    const tag = tagOf(lane);
    switch (event.type) {
      case EventType.TEXT_MESSAGE_CHUNK: {
        const { out, id, opened } = this.continueOrOpen(lane, 'text', event.messageId, 'TEXT_MESSAGE_CHUNK');
        if (opened) {
          const name = event.name === undefined ? {} : { name: event.name };
          out.push({
            type: EventType.TEXT_MESSAGE_START,
            messageId: id,
            role: event.role ?? 'assistant',
            ...name,
            ...tag,
          });
        }
        if (event.delta !== undefined) {
          out.push({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: id, delta: event.delta, ...tag });
        }
        return out;
      }
      case EventType.TOOL_CALL_CHUNK: {
        const { out, id, opened } = this.continueOrOpen(lane, 'tool', event.toolCallId, 'TOOL_CALL_CHUNK');
        if (opened) {
          if (event.toolCallName === undefined) {
            throw new ProtocolViolation(
              'chunk-identified',
              'the first TOOL_CALL_CHUNK of a tool call needs a toolCallName',
            );
          }
          const parent =
            event.parentMessageId === undefined ? {} : { parentMessageId: event.parentMessageId };
          out.push({
            type: EventType.TOOL_CALL_START,
            toolCallId: id,
            toolCallName: event.toolCallName,
            ...parent,
            ...tag,
          });
        }
        if (event.delta !== undefined) {
          out.push({ type: EventType.TOOL_CALL_ARGS, toolCallId: id, delta: event.delta, ...tag });
        }
        return out;
      }
      case EventType.REASONING_MESSAGE_CHUNK: {
        const { out, id, opened } = this.continueOrOpen(
          lane,
          'reasoning',
          event.messageId,
          'REASONING_MESSAGE_CHUNK',
        );
        if (opened)
          out.push({ type: EventType.REASONING_MESSAGE_START, messageId: id, role: 'reasoning', ...tag });
        if (event.delta !== undefined) {
          out.push({ type: EventType.REASONING_MESSAGE_CONTENT, messageId: id, delta: event.delta, ...tag });
        }
        return out;
      }
      default: {
        if (closesAll.has(event.type)) return [...this.finish(), event];
        if (closesLane.has(event.type)) return [...this.close(lane), event];
        if (event.type === EventType.SUBAGENT_FINISHED || event.type === EventType.SUBAGENT_ERROR) {
          return [...this.close(event.subagentRunId), event];
        }
        return [event];
      }
    }
  }

  /** Closes every open chunked stream (at the end of the input). */
  finish(): AGUIEvent[] {
    return [...this.lanes.keys()].flatMap((lane) => this.close(lane));
  }

  /**
   * Continues the lane's open stream of `kind` when `id` is absent or matches; otherwise closes it
   * and opens a new one (`opened`), whose id the first chunk must carry.
   */
  private continueOrOpen(
    lane: Lane,
    kind: OpenStream['kind'],
    id: string | undefined,
    chunk: string,
  ): { out: AGUIEvent[]; id: string; opened: boolean } {
    const open = this.lanes.get(lane);
    if (open?.kind === kind && (id === undefined || id === open.id))
      return { out: [], id: open.id, opened: false };
    if (id === undefined) {
      throw new ProtocolViolation('chunk-identified', `the first ${chunk} of a stream needs its id`);
    }
    const out = this.close(lane);
    this.lanes.set(lane, { kind, id });
    return { out, id, opened: true };
  }

  private close(lane: Lane): AGUIEvent[] {
    const open = this.lanes.get(lane);
    if (open === undefined) return [];
    this.lanes.delete(lane);
    const tag = tagOf(lane);
    if (open.kind === 'text') return [{ type: EventType.TEXT_MESSAGE_END, messageId: open.id, ...tag }];
    if (open.kind === 'tool') return [{ type: EventType.TOOL_CALL_END, toolCallId: open.id, ...tag }];
    return [{ type: EventType.REASONING_MESSAGE_END, messageId: open.id, ...tag }];
  }
}

function tagOf(lane: Lane): { subagentRunId?: string } {
  return lane === undefined ? {} : { subagentRunId: lane };
}
