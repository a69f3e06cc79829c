/**
 * The document as an AG-UI client sees it: the page follows `GET /api/docs/<docId>/events` (server-
 * sent events: a `STATE_SNAPSHOT`, then a `STATE_DELTA` per batch of committed changes, each with
 * its seq as the SSE id) with the browser's own `EventSource`, which reconnects by itself and sends
 * `Last-Event-ID` so the server resumes where it left off. The events are listed as they come, and
 * the live JSON view is the snapshot with every delta applied — the server's JSON form of the
 * document, not the page's replica, so it shows exactly what the log holds.
 */

import { applyPatch, type Json, type PatchOperation } from '@ystate/client';
import { create, oneLine, perFrame } from './dom.js';

/** What the panel shows at most (older events scroll away). */
const MAX_EVENTS = 40;

/** An AG-UI state event as the server frames it. */
interface StateEvent {
  type: string;
  snapshot?: Json;
  delta?: PatchOperation[];
  metadata?: { ystate?: { seq?: number } };
}

/** The panel's elements and what to tell the rest of the page. */
export interface LiveEventsView {
  list: HTMLOListElement;
  state: HTMLPreElement;
  /** Called with the seq of every state event (the log's head as this page knows it). */
  onSeq: (seq: number) => void;
}

/** Follows the stream at `url` into `view`; returns a function that stops it. */
export function followEvents(url: string, view: LiveEventsView): () => void {
  let value: Json | undefined;
  let source: EventSource | undefined;
  const renderState = perFrame(() => {
    view.state.textContent = JSON.stringify(value ?? null, null, 2);
  });

  const open = () => {
    source?.close();
    value = undefined;
    source = new EventSource(url);
    source.addEventListener('message', (message) => {
      let event: StateEvent;
      try {
        event = JSON.parse(message.data) as StateEvent;
        if (event.type === 'STATE_SNAPSHOT') value = event.snapshot ?? null;
        else if (event.type === 'STATE_DELTA' && value !== undefined)
          value = applyPatch(value, event.delta ?? []);
        else if (event.type === 'STATE_DELTA') throw new Error('a delta before any snapshot');
      } catch {
        // Out of step (a correct server never gets here): start over from a fresh snapshot.
        open();
        return;
      }
      const seq = event.metadata?.ystate?.seq ?? Number(message.lastEventId);
      list(event, seq);
      renderState();
      if (Number.isInteger(seq)) view.onSeq(seq);
    });
  };

  const list = (event: StateEvent, seq: number) => {
    const item = create('li', '', { 'data-type': event.type, 'data-seq': String(seq) });
    item.append(
      create('span', event.type, { class: 'event-type' }),
      create('span', `seq ${seq}`, { class: 'muted' }),
      create('code', oneLine(event.type === 'STATE_DELTA' ? event.delta : event.snapshot)),
    );
    view.list.prepend(item);
    while (view.list.childElementCount > MAX_EVENTS) view.list.lastElementChild?.remove();
  };

  open();
  return () => source?.close();
}
