/**
 * Lifecycle events: an object's status (created, active, paused, …) and application events (tool
 * output, agent completion, any named event with a JSON payload). A lifecycle entry's payload
 * holds the event and, when recording it changed state in the same transaction, that Yjs update.
 */

import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ErrorCode, YStateError } from './errors.js';
import { assertJson, isPlainObject, type Json } from './json.js';
import { parsePointer } from './pointer.js';

/** The statuses an object moves through. */
export const LifecycleStatus = {
  created: 'created',
  active: 'active',
  paused: 'paused',
  resumed: 'resumed',
  completed: 'completed',
  failed: 'failed',
  archived: 'archived',
} as const;

export type LifecycleStatus = (typeof LifecycleStatus)[keyof typeof LifecycleStatus];

/** A lifecycle event as recorded: a status change, or a named application event. */
export interface LifecycleEvent {
  /** `status` changes an object's status to `name`; `event` is an application event named `name`. */
  type: 'status' | 'event';
  name: string;
  /** The object it concerns, as a JSON Pointer into the document ('' = the document itself). */
  path: string;
  data?: Json;
}

/** A lifecycle event as the log holds it. */
export interface RecordedLifecycleEvent extends LifecycleEvent {
  seq: number;
  time: number;
  origin: string;
}

const statuses = new Set<string>(Object.values(LifecycleStatus));

/** Checks an event from untrusted input; throws INVALID_EVENT naming the fault. */
export function parseLifecycleEvent(input: unknown): LifecycleEvent {
  if (!isPlainObject(input)) throw invalid('a lifecycle event must be an object');
  const { type, name, path = '', data } = input;
  if (type !== 'status' && type !== 'event') throw invalid('"type" must be "status" or "event"');
  if (typeof name !== 'string' || name.length === 0) throw invalid('"name" must be a non-empty string');
  if (type === 'status' && !statuses.has(name)) {
    throw invalid(`unknown status "${name}"; one of ${[...statuses].join(', ')}`);
  }
  if (typeof path !== 'string') throw invalid('"path" must be a JSON Pointer string');
  parsePointer(path);
  const event: LifecycleEvent = { type, name, path };
  if (data !== undefined) {
    assertJson(data, '/data');
    event.data = data;
  }
  return event;
}

/** Encodes a lifecycle entry's payload: the event as JSON, then the update it made (possibly empty). */
export function encodeLifecyclePayload(event: LifecycleEvent, update?: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, JSON.stringify(event));
  encoding.writeVarUint8Array(encoder, update ?? new Uint8Array(0));
  return encoding.toUint8Array(encoder);
}

/** Decodes a lifecycle entry's payload. */
export function decodeLifecyclePayload(payload: Uint8Array): {
  event: LifecycleEvent;
  update: Uint8Array | undefined;
} {
  try {
    const decoder = decoding.createDecoder(payload);
    const event = parseLifecycleEvent(JSON.parse(decoding.readVarString(decoder)));
    const update = decoding.readVarUint8Array(decoder);
    return { event, update: update.length > 0 ? update : undefined };
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.CORRUPT_ENTRY,
      message: 'not a valid lifecycle entry payload',
      cause,
    });
  }
}

function invalid(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_EVENT, message: `invalid lifecycle event: ${message}` });
}
