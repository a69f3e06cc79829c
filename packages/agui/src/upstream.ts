/**
 * Calling an upstream AG-UI agent over HTTP: POST the `RunAgentInput`, then read its events
 * (SSE, or protobuf if it answers so) with `@ag-ui/client`'s transport, as an async iterable of
 * unvalidated events — validation is the caller's.
 */

import { runHttpRequest, transformHttpEventStream } from '@ag-ui/client';
import type { BaseEvent, RunAgentInput } from '@ag-ui/core';

/** A `fetch` (the global one by default) used to call an upstream agent. */
export type FetchFunction = (input: string | URL, init: RequestInit) => Promise<Response>;

export interface UpstreamRequest {
  url: string | URL;
  input: RunAgentInput;
  fetch?: FetchFunction;
  headers?: Record<string, string>;
  signal: AbortSignal;
}

/** The upstream agent's events; errors (connection, non-2xx answer, bad framing) are thrown while iterating. */
export async function* upstreamEvents(request: UpstreamRequest): AsyncGenerator<unknown, void, undefined> {
  const doFetch: FetchFunction = request.fetch ?? ((url, init) => fetch(url, init));
  const events = transformHttpEventStream(
    runHttpRequest(() =>
      doFetch(request.url, {
        method: 'POST',
        headers: { ...request.headers, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(request.input),
        signal: request.signal,
      }),
    ),
  );
  const queue: BaseEvent[] = [];
  let failure: { error: unknown } | undefined;
  let complete = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const subscription = events.subscribe({
    next: (event) => {
      queue.push(event);
      notify();
    },
    error: (error: unknown) => {
      failure = { error };
      notify();
    },
    complete: () => {
      complete = true;
      notify();
    },
  });
  try {
    for (;;) {
      const event = queue.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      if (failure) throw failure.error;
      if (complete) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    subscription.unsubscribe();
  }
}
