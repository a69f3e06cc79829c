/**
 * The y-websocket wire format (as `y-websocket`'s client and reference server speak it): a varuint
 * message type, then for sync messages a varuint sync type and a length-prefixed payload. Parsing is
 * strict: a truncated frame, trailing bytes or an unknown type is an INVALID_MESSAGE.
 */

import { ErrorCode, YStateError } from '@ystate/core';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { writePermissionDenied } from 'y-protocols/auth';
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from 'y-protocols/sync';

/** y-websocket message types. */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

/** A message from a client, parsed. */
export type ClientMessage =
  | { readonly type: 'syncStep1'; readonly stateVector: Uint8Array }
  | { readonly type: 'syncStep2' | 'update'; readonly update: Uint8Array }
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'queryAwareness' }
  | { readonly type: 'auth' };

/** Parses one WebSocket message; throws INVALID_MESSAGE when it is not a well-formed y-websocket message. */
export function parseMessage(data: Uint8Array): ClientMessage {
  let message: ClientMessage;
  const decoder = decoding.createDecoder(data);
  try {
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MessageType.sync: {
        const syncType = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (syncType === messageYjsSyncStep1) message = { type: 'syncStep1', stateVector: payload };
        else if (syncType === messageYjsSyncStep2) message = { type: 'syncStep2', update: payload };
        else if (syncType === messageYjsUpdate) message = { type: 'update', update: payload };
        else throw new Error(`unknown sync message type ${syncType}`);
        break;
      }
      case MessageType.awareness:
        message = { type: 'awareness', update: decoding.readVarUint8Array(decoder) };
        break;
      case MessageType.queryAwareness:
        message = { type: 'queryAwareness' };
        break;
      case MessageType.auth:
        // Clients never send auth messages; the rest of the frame is theirs to fill. Ignored.
        return { type: 'auth' };
      default:
        throw new Error(`unknown message type ${type}`);
    }
  } catch (cause) {
    throw invalidMessage(cause instanceof Error ? cause.message : 'malformed message', cause);
  }
  if (decoder.pos !== data.length) throw invalidMessage(`${data.length - decoder.pos} trailing bytes`);
  return message;
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return encodeSync(messageYjsSyncStep1, stateVector);
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return encodeSync(messageYjsSyncStep2, update);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  return encodeSync(messageYjsUpdate, update);
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeQueryAwareness(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.queryAwareness);
  return encoding.toUint8Array(encoder);
}

/** An auth message saying permission was denied (the y-websocket client logs the reason). */
export function encodePermissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.auth);
  writePermissionDenied(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/** One client's entry in an awareness update: its id, its clock and its state as JSON text (`null` removes it). */
export interface AwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  readonly state: string;
}

/** The entries of an awareness update (y-protocols' format); throws INVALID_MESSAGE when it is malformed. */
export function decodeAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const entries: AwarenessEntry[] = [];
  try {
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      entries.push({ clientId, clock, state: decoding.readVarString(decoder) });
    }
  } catch (cause) {
    throw invalidMessage('malformed awareness update', cause);
  }
  if (decoder.pos !== update.length) {
    throw invalidMessage(`${update.length - decoder.pos} trailing bytes in an awareness update`);
  }
  return entries;
}

/** An awareness update holding `entries` (the inverse of `decodeAwarenessEntries`). */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

export function invalidMessage(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_MESSAGE, message, cause });
}

function encodeSync(syncType: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, syncType);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}
