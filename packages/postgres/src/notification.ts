/**
 * What travels in a NOTIFY payload. Payloads are ASCII text (PostgreSQL takes any server encoding
 * but only text) shorter than 8000 bytes, so entries are base64 frames (the log's own frame
 * format, docs/log-format.md) and anything larger goes by reference:
 *
 *   a:<first>:<frame>,<frame>,…   an append, inline: frames with seq 0, numbered first, first+1, …
 *   r:<first>:<last>              an append by reference: read seqs first..last from the entries table
 *   e:<frame>,<frame>,…           published entries, inline: frames with their seqs
 *   s:<id>                        a spilled message: the `spill` row `id` holds one of the above
 *   g:<base64>                    a signal (an ephemeral message)
 *
 * Signal payloads start with `<sender>:` so that a node skips its own.
 */

import { decodeEntry, type EntryInput, encodeEntry, type LogEntry } from '@ystate/core';

/** Default largest payload sent inline; PostgreSQL's limit is 7999 bytes. */
export const DEFAULT_MAX_NOTIFY_BYTES = 7800;

/** A parsed payload of an entries channel. */
export type EntriesMessage =
  | { readonly type: 'entries'; readonly entries: LogEntry[] }
  | { readonly type: 'range'; readonly from: number; readonly to: number }
  | { readonly type: 'spilled'; readonly id: string };

/** A parsed payload of a signals channel. */
export type SignalMessage =
  | { readonly type: 'signal'; readonly sender: string; readonly message: Uint8Array }
  | { readonly type: 'spilled'; readonly sender: string; readonly id: string };

/** The frames of an append as the notification carries them (seq 0: the database numbers them). */
export function appendFrames(entries: readonly EntryInput[]): string {
  return entries.map((entry) => toBase64(encodeEntry({ ...entry, seq: 0 }))).join(',');
}

/** The inline payload of published entries. */
export function entriesPayload(entries: readonly LogEntry[]): string {
  return `e:${entries.map((entry) => toBase64(encodeEntry(entry))).join(',')}`;
}

/** The inline payload of a signal, without the sender. */
export function signalBody(message: Uint8Array): string {
  return `g:${toBase64(message)}`;
}

/**
 * Parses the payload of an entries channel (or a spilled body, which is never `s:` again).
 * Throws CORRUPT_ENTRY (from the frame decoder) or a plain Error on anything malformed.
 */
export function parseEntriesPayload(payload: string, spilled = false): EntriesMessage {
  const type = payload.slice(0, 2);
  const rest = payload.slice(2);
  switch (type) {
    case 'a:': {
      const colon = rest.indexOf(':');
      const first = seqOf(rest.slice(0, colon));
      const frames = colon < 0 ? [] : splitFrames(rest.slice(colon + 1));
      return {
        type: 'entries',
        entries: frames.map((frame, i) => ({ ...decodeEntry(fromBase64(frame)), seq: first + i })),
      };
    }
    case 'r:': {
      const [from, to] = rest.split(':');
      return { type: 'range', from: seqOf(from), to: seqOf(to) };
    }
    case 'e:':
      return { type: 'entries', entries: splitFrames(rest).map((frame) => decodeEntry(fromBase64(frame))) };
    case 's:':
      if (!spilled && /^[0-9]+$/.test(rest)) return { type: 'spilled', id: rest };
      break;
  }
  throw new Error(`unknown entries notification "${payload.slice(0, 40)}"`);
}

/** Parses the payload of a signals channel (`spilledBody` for the `g:` body read from a spill row). */
export function parseSignalPayload(payload: string): SignalMessage {
  const colon = payload.indexOf(':');
  const sender = payload.slice(0, colon);
  const body = payload.slice(colon + 1);
  if (colon > 0 && body.startsWith('g:'))
    return { type: 'signal', sender, message: fromBase64(body.slice(2)) };
  if (colon > 0 && /^s:[0-9]+$/.test(body)) return { type: 'spilled', sender, id: body.slice(2) };
  throw new Error(`unknown signal notification "${payload.slice(0, 40)}"`);
}

/** The message of a spilled signal's body (`g:<base64>`). */
export function parseSignalBody(body: string): Uint8Array {
  if (!body.startsWith('g:')) throw new Error('a spilled signal body must start with "g:"');
  return fromBase64(body.slice(2));
}

function splitFrames(text: string): string[] {
  return text === '' ? [] : text.split(',');
}

function seqOf(text: string | undefined): number {
  const seq = Number(text);
  if (text === undefined || !/^[0-9]+$/.test(text) || !Number.isSafeInteger(seq)) {
    throw new Error(`not a sequence number: "${String(text).slice(0, 20)}"`);
  }
  return seq;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes base64 into a fresh Uint8Array (not a view into Node's shared Buffer pool). */
function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('malformed base64 in a notification');
  return new Uint8Array(Buffer.from(text, 'base64'));
}
