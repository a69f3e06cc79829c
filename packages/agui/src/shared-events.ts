/**
 * Events built once and handed to many consumers (every HTTP stream of the same subtree gets the
 * same event object): their wire encodings are built once too, the first time a consumer sends
 * one, and handed to every later one. The builder may also give the event's JSON, which it made
 * anyway to measure the event, so the encoding does not stringify it again.
 *
 * In SSE, an event that carries a seq (`metadata.ystate.seq`) is sent with `id: <seq>`, so a
 * client reconnecting with `Last-Event-ID` resumes from the state it has.
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
  if (encodings === undefined) return protobuf ? encoder.encodeBinary(event) : encodeSse(event, encoder);
  if (protobuf) {
    encodings.protobuf ??= encoder.encodeBinary(event);
    return encodings.protobuf;
  }
  if (encodings.sse === undefined) {
    const { json } = encodings;
    encodings.sse =
      json === undefined ? encodeSse(event, encoder) : utf8.encode(`${idLine(event)}data: ${json}\n\n`);
    encodings.json = undefined;
  }
  return encodings.sse;
}

/** The seq an event carries in `metadata.ystate.seq`, if any: its SSE id. */
export function seqOfEvent(event: BaseEvent): number | undefined {
  const ystate = (event.metadata as { ystate?: { seq?: unknown } } | undefined)?.ystate;
  return typeof ystate?.seq === 'number' ? ystate.seq : undefined;
}

function idLine(event: BaseEvent): string {
  const seq = seqOfEvent(event);
  return seq === undefined ? '' : `id: ${seq}\n`;
}

/** `@ag-ui/encoder`'s SSE frame, after the event's id line when it has one. */
function encodeSse(event: BaseEvent, encoder: EventEncoder): Uint8Array {
  const frame = encoder.encodeBinary(event);
  const id = idLine(event);
  if (id === '') return frame;
  const prefix = utf8.encode(id);
  const bytes = new Uint8Array(prefix.byteLength + frame.byteLength);
  bytes.set(prefix, 0);
  bytes.set(frame, prefix.byteLength);
  return bytes;
}
