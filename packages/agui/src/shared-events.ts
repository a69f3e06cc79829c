/**
 * Events built once and handed to many consumers (every HTTP stream of the same subtree gets the
 * same event object): their wire encodings are built once too, the first time a consumer sends
 * one, and handed to every later one. The builder may also give the event's JSON, which it made
 * anyway to measure the event, so the encoding does not stringify it again.
 */

import type { BaseEvent } from '@ag-ui/core';
import type { EventEncoder } from '@ag-ui/encoder';

interface Encodings {
  /** `JSON.stringify` of the event as `@ag-ui/encoder` would send it, until the SSE bytes are built. */
  json: string | undefined;
  sse?: Uint8Array;
  protobuf?: Uint8Array;
}

const shared = new WeakMap<BaseEvent, Encodings>();
const utf8 = new TextEncoder();

/**
 * Marks `event` as shared: its encodings are kept with it (as long as it lives) and reused. `json`,
 * when given, must be what `@ag-ui/encoder` would write after `data: ` (the event has no `null`
 * optional fields, so that is `JSON.stringify(event)`). The event must not change afterwards.
 */
export function shareEvent<T extends BaseEvent>(event: T, json?: string): T {
  shared.set(event, { json });
  return event;
}

/** True when `event` was marked shared. */
export function isShared(event: BaseEvent): boolean {
  return shared.has(event);
}

/** The bytes of `event` framed by `encoder` (SSE, or protobuf when `protobuf`); built once for a shared event. */
export function encodeEvent(event: BaseEvent, encoder: EventEncoder, protobuf: boolean): Uint8Array {
  const encodings = shared.get(event);
  if (encodings === undefined) return encoder.encodeBinary(event);
  if (protobuf) {
    encodings.protobuf ??= encoder.encodeBinary(event);
    return encodings.protobuf;
  }
  if (encodings.sse === undefined) {
    const { json } = encodings;
    encodings.sse = json === undefined ? encoder.encodeBinary(event) : utf8.encode(`data: ${json}\n\n`);
    encodings.json = undefined;
  }
  return encodings.sse;
}
