/**
 * A proxy for AG-UI agents: the frontend's run goes to ystate, which gives the upstream agent the
 * document's state instead of the frontend's (remembering its seq as the agent's base), merges the
 * agent's state events into the document at that base, records the run's lifecycle, and streams
 * the agent's events back with its state events replaced by the document's own snapshot and deltas
 * (which also carry what other people change during the run). A frontend that already has the
 * state at some seq (`Last-Event-ID`, `forwardedProps.ystate.since` or `?since=`, as for `/agui`
 * runs without a proxy) gets the changes since then instead of a snapshot.
 */

import type { IncomingMessage } from 'node:http';
import { type AGUIEvent, EventType, type RunAgentInput } from '@ag-ui/core';
import { type Engine, type HistoricalState, isYStateError, type Json } from '@ystate/core';
import { AgentRun, AguiLifecycle } from './agent-run.js';
import { DocumentStream } from './document-stream.js';
import { EventSink, type ExtraRoute, type RouteContext, readJsonBody, sendError } from './http.js';
import { resumePointOf } from './resume-point.js';
import { parseRunAgentInput, type RunEnd, ystatePropsOf } from './run-input.js';
import { type FetchFunction, upstreamEvents } from './upstream.js';

/** Options of `aguiProxyRoute`: the upstream AG-UI agent and how to call it. */
export interface AguiProxyOptions {
  /** The upstream AG-UI agent's endpoint (it receives the `RunAgentInput` by POST). */
  upstream: URL | string;
  /** The fetch to call it with (default: global fetch). */
  fetch?: FetchFunction;
  /** Extra request headers for the upstream agent (an API key, say), fixed or per request. */
  headers?: Record<string, string> | ((req: IncomingMessage, ctx: RouteContext) => Record<string, string>);
  /** The origin the run's changes are recorded under (default `agui:<runId>`). */
  origin?: (input: RunAgentInput, ctx: RouteContext) => string;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** SSE keep-alive comment interval (default 15 s; 0 = none). */
  heartbeatMs?: number;
  /** State events held for a slow client before it is resynchronised with a snapshot (default 256). */
  maxQueue?: number;
  /** Called when a proxied run ends. */
  onRunEnd?: (end: RunEnd) => void;
}

/** `POST /api/docs/:docId/agui` served by an upstream AG-UI agent working on the document. */
export function aguiProxyRoute(engine: Engine, options: AguiProxyOptions): ExtraRoute {
  return {
    method: 'POST',
    path: '/api/docs/:docId/agui',
    access: 'write',
    async handler(req, res, ctx) {
      let input: RunAgentInput;
      let base: HistoricalState;
      let since: number | undefined;
      try {
        input = parseRunAgentInput(await readJsonBody(req, options.maxBodyBytes ?? 1024 * 1024));
        since = resumePointOf(req, ystatePropsOf(input).since);
        base = await engine.stateAt(ctx.docId, { seq: await engine.log.head(ctx.docId) });
      } catch (error) {
        sendError(res, error);
        return;
      }
      const headers = typeof options.headers === 'function' ? options.headers(req, ctx) : options.headers;
      const proxy = new ProxiedRun(engine, ctx, input, base, {
        upstream: options.upstream,
        sink: new EventSink(res, { accept: req.headers.accept, heartbeatMs: options.heartbeatMs ?? 15_000 }),
        origin: options.origin?.(input, ctx) ?? `agui:${input.runId}`,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        ...(headers === undefined ? {} : { headers }),
        ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
        ...(since === undefined ? {} : { since }),
      });
      const end = await proxy.run();
      options.onRunEnd?.(end);
    },
  };
}

interface ProxiedRunOptions {
  upstream: URL | string;
  sink: EventSink;
  origin: string;
  fetch?: FetchFunction;
  headers?: Record<string, string>;
  maxQueue?: number;
  /** The seq the frontend's state is at: its state events start with the changes since then. */
  since?: number;
}

type Step =
  | { kind: 'upstream'; result: IteratorResult<unknown> }
  | { kind: 'failed'; error: unknown }
  | { kind: 'state' }
  | { kind: 'stop' };

/** One proxied run, from the frontend's request to the end of its response. */
class ProxiedRun {
  private readonly agent: AgentRun;
  private readonly sink: EventSink;
  private readonly upstreamAbort = new AbortController();
  private stream: DocumentStream | undefined;
  private started = false;
  private lastMerge: number | undefined;
  private stateReady: Promise<Step> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly ctx: RouteContext,
    private readonly input: RunAgentInput,
    private readonly base: HistoricalState,
    private readonly options: ProxiedRunOptions,
  ) {
    this.agent = AgentRun.fromState(engine, ctx.docId, base, { origin: options.origin });
    this.sink = options.sink;
  }

  async run(): Promise<RunEnd> {
    const stop = AbortSignal.any([this.sink.clientGone, this.ctx.signal]);
    const stopped = new Promise<Step>((resolve) => {
      if (stop.aborted) resolve({ kind: 'stop' });
      else stop.addEventListener('abort', () => resolve({ kind: 'stop' }), { once: true });
    });
    const upstream = upstreamEvents({
      url: this.options.upstream,
      // The agent works on the document, not on whatever state the frontend had.
      input: { ...this.input, state: this.base.json },
      signal: this.upstreamAbort.signal,
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
      ...(this.options.headers === undefined ? {} : { headers: this.options.headers }),
    });
    let pending: Promise<Step> | undefined;
    try {
      this.sink.start();
      for (;;) {
        pending ??= upstream.next().then(
          (result): Step => ({ kind: 'upstream', result }),
          (error: unknown): Step => ({ kind: 'failed', error }),
        );
        const waits: Promise<Step>[] = [pending, stopped];
        // While the agent streams a chunked message, state events wait (they would split it).
        if (this.stream && !this.agent.streaming) {
          this.stateReady ??= this.stream.ready().then((): Step => ({ kind: 'state' }));
          waits.push(this.stateReady);
        }
        const step = await Promise.race(waits);
        if (step.kind === 'state') {
          this.stateReady = undefined;
          await this.forwardState();
          continue;
        }
        if (step.kind === 'stop') return await this.cancelled();
        pending = undefined;
        if (step.kind === 'failed') {
          return await this.fail(`the upstream agent failed: ${messageOf(step.error)}`, 'UPSTREAM_FAILED');
        }
        if (step.result.done) return await this.upstreamEnded();
        const end = await this.take(step.result.value);
        if (end) return end;
      }
    } finally {
      this.upstreamAbort.abort();
      // Settles once the aborted request does; nothing waits for it.
      upstream.return(undefined).catch(() => undefined);
      this.stream?.close();
      this.agent.dispose();
      this.sink.end();
    }
  }

  /** Handles one upstream event; returns how the run ended when it did. */
  private async take(raw: unknown): Promise<RunEnd | undefined> {
    let event: AGUIEvent | undefined;
    try {
      const planned = this.agent.plan(raw);
      event = planned.event;
      const done = await this.agent.execute(planned.actions);
      if (done.mergeSeq !== undefined) this.lastMerge = done.mergeSeq;
    } catch (error) {
      if (!isYStateError(error)) throw error;
      return this.fail(error.message, error.code);
    }
    if (event === undefined) return undefined;
    switch (event.type) {
      case EventType.RUN_STARTED:
        this.started = true;
        await this.sink.send(event);
        this.stream = await DocumentStream.open(this.engine, this.ctx.docId, {
          shareValues: true,
          ...(this.options.maxQueue === undefined ? {} : { maxQueue: this.options.maxQueue }),
          ...(this.options.since === undefined ? {} : { since: this.options.since }),
        });
        await this.forwardState();
        return undefined;
      case EventType.STATE_SNAPSHOT:
      case EventType.STATE_DELTA:
        // Merged into the document; the frontend gets the document's own delta instead.
        return undefined;
      case EventType.RUN_FINISHED:
      case EventType.RUN_ERROR:
        await this.settleState();
        await this.sink.send(event);
        return this.ended(
          event.type === EventType.RUN_FINISHED ? 'finished' : 'error',
          event.type === EventType.RUN_ERROR ? event.message : 'finished',
        );
      default:
        await this.sink.send(event);
        if (!this.agent.streaming) await this.forwardState();
        return undefined;
    }
  }

  /** Sends the document's state events queued so far. */
  private async forwardState(): Promise<void> {
    if (!this.stream) return;
    for (const event of this.stream.drain()) await this.sink.send(event);
  }

  /** Sends the document's state up to the last merge of the agent's state events. */
  private async settleState(): Promise<void> {
    if (!this.stream) return;
    if (this.lastMerge !== undefined) await this.stream.untilQueued(this.lastMerge);
    await this.forwardState();
  }

  private async upstreamEnded(): Promise<RunEnd> {
    try {
      await this.agent.execute(this.agent.planEnd().actions);
    } catch (error) {
      if (!isYStateError(error)) throw error;
      return this.fail(error.message, error.code);
    }
    if (this.started && this.agent.outcome === undefined) {
      return this.fail('the upstream agent ended its stream without RUN_FINISHED', 'UPSTREAM_INCOMPLETE');
    }
    if (!this.started) return this.fail('the upstream agent sent no events', 'UPSTREAM_INCOMPLETE');
    return this.ended('finished', 'finished');
  }

  /** Ends the run with RUN_ERROR (to the frontend and in the log). */
  private async fail(message: string, code: string): Promise<RunEnd> {
    this.upstreamAbort.abort();
    if (this.started) await this.record(AguiLifecycle.runError, { runId: this.input.runId, message, code });
    await this.settleState();
    await this.sink.send({ type: EventType.RUN_ERROR, message, code });
    return this.ended('error', message);
  }

  /** The client left or the server is stopping: the run is cancelled. */
  private async cancelled(): Promise<RunEnd> {
    this.upstreamAbort.abort();
    const { threadId, runId } = this.input;
    if (this.started)
      await this.record(AguiLifecycle.runFinished, { threadId, runId, outcome: { type: 'cancelled' } });
    if (this.sink.isOpen) {
      await this.forwardState();
      await this.sink.send({
        type: EventType.RUN_FINISHED,
        threadId,
        runId,
        outcome: { type: 'cancelled' },
      });
      return this.ended('finished', 'server');
    }
    return this.ended('aborted', 'client');
  }

  private async record(name: AguiLifecycle, data: Record<string, Json>): Promise<void> {
    await this.engine.record(
      this.ctx.docId,
      { type: 'event', name, path: '', data },
      { origin: this.options.origin },
    );
  }

  private ended(reason: RunEnd['reason'], detail: string): RunEnd {
    return { docId: this.ctx.docId, threadId: this.input.threadId, runId: this.input.runId, reason, detail };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
