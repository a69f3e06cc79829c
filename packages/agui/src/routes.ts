/**
 * The routes a ystate server mounts for AG-UI: `GET /api/docs/:docId/events` (the document's
 * state events as SSE) and `POST /api/docs/:docId/agui` (the same as an AG-UI run for
 * `@ag-ui/client`'s HttpAgent, or, with `proxy`, a run of an upstream agent on the document).
 */

import type { IncomingMessage } from 'node:http';
import { type BaseEvent, EventType, type RunAgentInput } from '@ag-ui/core';
import { type Engine, ErrorCode, type PatchOperation, type Undone, YStateError } from '@ystate/core';
import { DocumentStream } from './document-stream.js';
import { EventSink, type ExtraRoute, type RouteContext, readJsonBody, sendError } from './http.js';
import { type AguiProxyOptions, aguiProxyRoute } from './proxy.js';
import { resumePointOf } from './resume-point.js';
import { parseRunAgentInput, type RunEnd, ystatePropsOf } from './run-input.js';

/** Options of `aguiRoutes`: run time limits and the optional proxy to an upstream agent. */
export interface AguiRoutesOptions {
  /** An `/agui` run ends (RUN_FINISHED) after this long without a change (default 30 s). */
  idleMs?: number;
  /** The most a run may ask for with `forwardedProps.ystate.idleMs` (default 10 min). */
  maxIdleMs?: number;
  /** An `/agui` run ends after this long whatever happens (default: no limit). */
  maxRunMs?: number;
  /** SSE keep-alive comment interval (default 15 s; 0 = none). */
  heartbeatMs?: number;
  /** Events held for a slow client before it is resynchronised with a snapshot (default 256). */
  maxQueue?: number;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Serve `POST /agui` as a proxy to an upstream AG-UI agent instead (see `aguiProxyRoute`). */
  proxy?: Omit<AguiProxyOptions, 'maxBodyBytes' | 'heartbeatMs' | 'maxQueue' | 'onRunEnd'>;
  /** Called when a run served over `/agui` ends. */
  onRunEnd?: (end: RunEnd) => void;
  /**
   * Offered the JSON Patch an undo asked for by a run (`forwardedProps.ystate.undo`) would make,
   * before it is written; throwing refuses it. A server's `onChange` hook does not see these
   * undos unless it is passed here too.
   */
  beforeUndo?: (payload: {
    docId: string;
    principal: unknown;
    origin: string;
    patch: PatchOperation[];
  }) => void | Promise<void>;
}

const DEFAULT_BODY_BYTES = 1024 * 1024;

/** The `/events` SSE route and the `/agui` run route (a subscription, or the proxy when configured). */
export function aguiRoutes(engine: Engine, options: AguiRoutesOptions = {}): ExtraRoute[] {
  const shared = {
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_BODY_BYTES,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
    ...(options.onRunEnd === undefined ? {} : { onRunEnd: options.onRunEnd }),
  };
  return [
    eventsRoute(engine, options),
    options.proxy ? aguiProxyRoute(engine, { ...options.proxy, ...shared }) : runRoute(engine, options),
  ];
}

/**
 * `GET /api/docs/:docId/events[?path=/a/b][&since=SEQ]`: STATE_SNAPSHOT, then STATE_DELTAs, as
 * `text/event-stream`, each with `id: <seq>`. With `Last-Event-ID` (or `since`) it resumes: the
 * changes since that seq from the log instead of the snapshot (see DocumentStream).
 */
export function eventsRoute(engine: Engine, options: AguiRoutesOptions = {}): ExtraRoute {
  return {
    method: 'GET',
    path: '/api/docs/:docId/events',
    access: 'read',
    async handler(req, res, ctx) {
      let stream: DocumentStream;
      try {
        stream = await openStream(engine, ctx, pathOf(req), resumePointOf(req), options);
      } catch (error) {
        sendError(res, error);
        return;
      }
      const sink = new EventSink(res, { heartbeatMs: options.heartbeatMs ?? 15_000 });
      const stop = AbortSignal.any([sink.clientGone, ctx.signal]);
      const close = () => stream.close();
      stop.addEventListener('abort', close, { once: true });
      if (stop.aborted) close();
      try {
        sink.start();
        while (await sendNext(stream, sink)) {
          // Each event lives only inside sendNext: nothing here holds the last one while waiting.
        }
      } finally {
        stop.removeEventListener('abort', close);
        stream.close();
        sink.end();
      }
    },
  };
}

/**
 * `POST /api/docs/:docId/agui` with a `RunAgentInput`: RUN_STARTED, the document's STATE_SNAPSHOT,
 * its STATE_DELTAs as they happen, and RUN_FINISHED once the run has been idle for `idleMs`
 * (`forwardedProps.ystate.idleMs` may ask for another value, 0 = right after the snapshot), after
 * `maxRunMs`, or when the server shuts down. The input's `state` is ignored: the route only reads.
 * The client aborting ends the run on the server side at once. A run resumes from a seq the client
 * has (`Last-Event-ID`, `forwardedProps.ystate.since` or `?since=`) as `/events` does. With
 * `forwardedProps.ystate.undo: { run: "<runId>" }` (and write access) the route first undoes that
 * earlier run (engine.undo) and reports it in RUN_FINISHED's `result.undone`.
 */
export function runRoute(engine: Engine, options: AguiRoutesOptions = {}): ExtraRoute {
  return {
    method: 'POST',
    path: '/api/docs/:docId/agui',
    access: 'read',
    async handler(req, res, ctx) {
      let input: RunAgentInput;
      let stream: DocumentStream;
      let idleMs: number;
      let undone: Undone | undefined;
      try {
        input = parseRunAgentInput(await readJsonBody(req, options.maxBodyBytes ?? DEFAULT_BODY_BYTES));
        const requested = ystatePropsOf(input);
        idleMs = Math.min(requested.idleMs ?? options.idleMs ?? 30_000, options.maxIdleMs ?? 600_000);
        const since = resumePointOf(req, requested.since);
        if (requested.undo !== undefined) undone = await undoRun(engine, ctx, requested.undo, options);
        stream = await openStream(engine, ctx, requested.path ?? pathOf(req), since, options);
      } catch (error) {
        sendError(res, error);
        return;
      }
      const { threadId, runId } = input;
      const sink = new EventSink(res, {
        accept: req.headers.accept,
        heartbeatMs: options.heartbeatMs ?? 15_000,
      });
      const deadline = new AbortController();
      const timer =
        options.maxRunMs === undefined ? undefined : setTimeout(() => deadline.abort(), options.maxRunMs);
      const stop = AbortSignal.any([sink.clientGone, ctx.signal, deadline.signal]);
      let detail = 'client';
      try {
        let step: Forwarded = (await sink.send({ type: EventType.RUN_STARTED, threadId, runId }))
          ? 'sent'
          : 'gone';
        while (step === 'sent') step = await forwardNext(stream, sink, idleMs, stop);
        if (step === 'idle' || step === 'stopped') {
          detail = step === 'idle' ? 'idle' : deadline.signal.aborted ? 'max-duration' : 'server';
        }
        if (sink.isOpen) {
          await sink.send({
            type: EventType.RUN_FINISHED,
            threadId,
            runId,
            ...(undone === undefined ? {} : { result: { undone } }),
          });
        }
      } finally {
        clearTimeout(timer);
        stream.close();
        const reason = sink.clientGone.aborted ? 'aborted' : 'finished';
        sink.end();
        options.onRunEnd?.({
          docId: ctx.docId,
          threadId,
          runId,
          reason,
          detail: reason === 'aborted' ? 'client' : detail,
        });
      }
    },
  };
}

/**
 * Undoes the run `undo.run` names, as the caller (write access needed; FORBIDDEN otherwise,
 * INVALID_VALUE for a malformed request, RUN_NOT_FOUND for an unknown run): before the run's stream
 * opens, so a refusal is an HTTP error and nothing is written.
 */
async function undoRun(
  engine: Engine,
  ctx: RouteContext,
  undo: unknown,
  options: AguiRoutesOptions,
): Promise<Undone> {
  const run =
    typeof undo === 'object' && undo !== null && !Array.isArray(undo)
      ? (undo as { run?: unknown }).run
      : undefined;
  if (typeof run !== 'string' || run === '' || Object.keys(undo as object).length !== 1) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: 'forwardedProps.ystate.undo must be { "run": "<runId>" }',
    });
  }
  if (ctx.access !== 'write') {
    throw new YStateError({
      code: ErrorCode.FORBIDDEN,
      message: `undoing a run needs write access to "${ctx.docId}"`,
    });
  }
  const id = (ctx.principal as { id?: unknown } | undefined)?.id;
  const origin = typeof id === 'string' ? id : 'anonymous';
  const { beforeUndo } = options;
  return engine.undo(
    ctx.docId,
    { run },
    beforeUndo === undefined
      ? { origin }
      : {
          origin,
          beforeWrite: (patch) => beforeUndo({ docId: ctx.docId, principal: ctx.principal, origin, patch }),
        },
  );
}

function pathOf(req: IncomingMessage): string | undefined {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('path') ?? undefined;
}

function openStream(
  engine: Engine,
  ctx: RouteContext,
  path: string | undefined,
  since: number | undefined,
  options: AguiRoutesOptions,
): Promise<DocumentStream> {
  return DocumentStream.open(engine, ctx.docId, {
    shareValues: true,
    ...(path === undefined ? {} : { path }),
    ...(since === undefined ? {} : { since }),
    ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
  });
}

/**
 * Sends the stream's next event; false once the stream or the client is gone. The event is not
 * held past the send (an idle subscriber must not pin the last event, a snapshot say).
 */
async function sendNext(stream: DocumentStream, sink: EventSink): Promise<boolean> {
  const event = await stream.next();
  return event !== undefined && (await sink.send(event));
}

/** How forwarding went: events sent, none for `idleMs`, the stream stopped, the client gone. */
type Forwarded = 'sent' | 'idle' | 'stopped' | 'gone';

/** Sends the events queued next, waiting at most `idleMs` for one; the events are not held past it. */
async function forwardNext(
  stream: DocumentStream,
  sink: EventSink,
  idleMs: number,
  signal: AbortSignal,
): Promise<Forwarded> {
  const next = await nextOrIdle(stream, idleMs, signal);
  if (next === 'idle') return 'idle';
  if (next === undefined) return 'stopped';
  for (const event of next) if (!(await sink.send(event))) return 'gone';
  return 'sent';
}

/** The events queued next, `idle` after `idleMs` without any, or undefined once `signal` aborts. */
async function nextOrIdle(
  stream: DocumentStream,
  idleMs: number,
  signal: AbortSignal,
): Promise<BaseEvent[] | 'idle' | undefined> {
  if (!stream.hasEvents && !signal.aborted) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        stream.ready(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, idleMs);
        }),
        new Promise<void>((resolve) => {
          onAbort = resolve;
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
  if (signal.aborted || stream.isClosed) return undefined;
  const events = stream.drain();
  return events.length > 0 ? events : 'idle';
}
