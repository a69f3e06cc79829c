import { HttpAgent } from '@ag-ui/client';
import { type BaseEvent, EventType, type RunAgentInput } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { Engine, Json, ReplayStep } from '@ystate/core';
import { startAgent } from '@ystate/example-agui-agent';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AguiLifecycle, aguiRoutes, type FetchFunction, type RunEnd } from '../src/index.js';
import { createEngine, serveRoutes } from './helpers.js';

let engine: Engine;
beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  await engine.close();
});

interface Todo {
  title: string;
  by: string;
}

async function history(docId: string, from = 1): Promise<ReplayStep[]> {
  const steps: ReplayStep[] = [];
  for await (const step of engine.replay(docId, { from })) steps.push(step);
  return steps;
}

describe('the AG-UI proxy against examples/agui-agent', () => {
  it('merges the agent’s stale-base deltas with a person’s concurrent edits, losing none; the log replays the run', async () => {
    const docId = 'boards/1';
    const { seq: base } = await engine.write(docId, (tx) =>
      tx.set('', {
        todos: [
          { title: 'Write brief', by: 'person' },
          { title: 'Review', by: 'person' },
        ],
      }),
    );
    let given: RunAgentInput | undefined;
    // While the agent "thinks" (after its tool call, before its deltas) a person edits the list.
    const agent = await startAgent({
      pause: async (input) => {
        given = input;
        await engine.applyPatch(
          docId,
          [{ op: 'add', path: '/todos/0', value: { title: 'Urgent', by: 'person' } }],
          {
            origin: 'person',
          },
        );
        await engine.applyPatch(
          docId,
          [{ op: 'add', path: '/todos/-', value: { title: 'Later', by: 'person' } }],
          {
            origin: 'person',
          },
        );
      },
    });
    const ends: RunEnd[] = [];
    const server = await serveRoutes(
      aguiRoutes(engine, { proxy: { upstream: agent.url }, onRunEnd: (end) => ends.push(end) }),
    );
    try {
      // The frontend's own (stale) idea of the state is replaced by the document's.
      const frontend = new HttpAgent({ url: server.docUrl(docId, 'agui'), initialState: { todos: [] } });
      const events: BaseEvent[] = [];
      await frontend.runAgent(
        { forwardedProps: { todos: ['Draft the agenda', 'Book the room'] } },
        { onEvent: ({ event }) => void events.push(event) },
      );

      expect(given?.state).toEqual((await engine.stateAt(docId, { seq: base })).json);
      const document = (await engine.get(docId)) as unknown as { todos: Todo[] };
      const titles = document.todos.map((t) => t.title);
      // No edit lost, each where its author meant it: the person's first and last, the agent's
      // two after "Review" (the end of the list it saw), in its order.
      expect(titles.slice(0, 3)).toEqual(['Urgent', 'Write brief', 'Review']);
      expect([...titles].sort()).toEqual([
        'Book the room',
        'Draft the agenda',
        'Later',
        'Review',
        'Urgent',
        'Write brief',
      ]);
      const draft = titles.indexOf('Draft the agenda');
      expect(titles[draft + 1]).toBe('Book the room');
      expect(draft).toBeGreaterThan(2);

      // The frontend ends with the document's state, reached through the document's own events.
      expect(frontend.state).toEqual(document);
      const stateEvents = events.filter(
        (e) => e.type === EventType.STATE_SNAPSHOT || e.type === EventType.STATE_DELTA,
      );
      expect(stateEvents.length).toBeGreaterThan(0);
      for (const event of stateEvents) expect(event.metadata).toMatchObject({ ystate: { docId } });
      expect(events[0]?.type).toBe(EventType.RUN_STARTED);
      expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
      // The agent's text and tool call reached the frontend's conversation.
      expect(frontend.messages.map((m) => m.role)).toEqual(['assistant', 'tool']);
      expect(frontend.messages[0]).toMatchObject({ content: 'Adding 2 todos to the list.' });

      // The log replays the run with the state changes it made.
      const steps = await history(docId, base + 1);
      const runSteps = steps.filter((s) => s.origin.startsWith('agui:'));
      expect(runSteps.map((s) => s.event?.name ?? s.kind)).toEqual([
        AguiLifecycle.runStarted,
        AguiLifecycle.textMessage,
        AguiLifecycle.toolCall,
        'update',
        'update',
        AguiLifecycle.toolCallResult,
        AguiLifecycle.runFinished,
      ]);
      expect(runSteps[0]?.event?.data).toMatchObject({ baseSeq: base });
      const { runId } = (runSteps[0]?.event?.data ?? {}) as { runId?: string };
      expect(new Set(runSteps.map((s) => s.origin))).toEqual(new Set([`agui:${runId}`]));
      const added = runSteps
        .filter((s) => s.kind === 'update')
        .map((s) => s.patch.map((op) => (op as { value?: Json }).value));
      expect(added).toEqual([
        [{ title: 'Draft the agenda', done: false, by: 'agent' }],
        [{ title: 'Book the room', done: false, by: 'agent' }],
      ]);
      expect(steps.filter((s) => s.origin === 'person')).toHaveLength(2);
      expect(ends).toEqual([expect.objectContaining({ docId, reason: 'finished' })]);
    } finally {
      await server.close();
      await agent.close();
    }
  });

  it('the frontend aborting cancels the run: the upstream request ends, the log records the cancellation', async () => {
    const docId = 'boards/3';
    await engine.write(docId, (tx) => tx.set('/todos', []));
    let resume: () => void = () => undefined;
    // The agent stops after its tool call, waiting (until the end of the test) to send its deltas.
    const agent = await startAgent({
      pause: () =>
        new Promise<void>((resolve) => {
          resume = resolve;
        }),
    });
    let ended: (end: RunEnd) => void = () => undefined;
    const end = new Promise<RunEnd>((resolve) => {
      ended = resolve;
    });
    const server = await serveRoutes(
      aguiRoutes(engine, { proxy: { upstream: agent.url }, onRunEnd: (e) => ended(e) }),
    );
    try {
      const frontend = new HttpAgent({ url: server.docUrl(docId, 'agui') });
      let toolCalled: () => void = () => undefined;
      const called = new Promise<void>((resolve) => {
        toolCalled = resolve;
      });
      // The proxy forwards an event once it is recorded: abort after the tool call arrived.
      const running = frontend
        .runAgent({}, { onToolCallEndEvent: () => toolCalled() })
        .catch(() => undefined);
      await called;
      frontend.abortRun();
      await running;
      expect(await end).toMatchObject({ docId, reason: 'aborted', detail: 'client' });
      resume();
      const steps = await history(docId);
      expect(steps.flatMap((s) => (s.event ? [[s.event.name, s.event.data]] : []))).toEqual([
        [AguiLifecycle.runStarted, expect.anything()],
        [AguiLifecycle.textMessage, expect.anything()],
        [AguiLifecycle.toolCall, expect.anything()],
        [AguiLifecycle.runFinished, expect.objectContaining({ outcome: { type: 'cancelled' } })],
      ]);
      expect(await engine.get(docId)).toEqual({ todos: [] });
    } finally {
      resume();
      await server.close();
      await agent.close();
    }
  });

  it('refuses an upstream that breaks the protocol: RUN_ERROR naming the rule, its bad event changes nothing', async () => {
    const docId = 'boards/2';
    await engine.write(docId, (tx) => tx.set('/todos', ['a']));
    const upstream = fakeUpstream([
      { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' },
      { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'nope', delta: 'x' },
      { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/1', value: 'never' }] },
      { type: EventType.RUN_FINISHED, threadId: 't', runId: 'r' },
    ]);
    const server = await serveRoutes(
      aguiRoutes(engine, { proxy: { upstream: 'http://agent.invalid/', fetch: upstream } }),
    );
    try {
      const frontend = new HttpAgent({ url: server.docUrl(docId, 'agui') });
      const events: BaseEvent[] = [];
      await frontend
        .runAgent({ runId: 'r' }, { onEvent: ({ event }) => void events.push(event) })
        .catch(() => undefined);
      const error = events.find((e) => e.type === EventType.RUN_ERROR);
      expect(error).toMatchObject({
        code: 'AGENT_PROTOCOL_VIOLATION',
        message: expect.stringContaining('text-message-pairing'),
      });
      expect(await engine.get(docId)).toEqual({ todos: ['a'] });
      const names = (await history(docId)).flatMap((s) => (s.event ? [s.event.name] : []));
      expect(names).toEqual([AguiLifecycle.runStarted, AguiLifecycle.runError]);
    } finally {
      await server.close();
    }
  });

  it('reports an unreachable upstream as RUN_ERROR', async () => {
    const failing: FetchFunction = () => Promise.reject(new TypeError('connect ECONNREFUSED'));
    const server = await serveRoutes(
      aguiRoutes(engine, { proxy: { upstream: 'http://agent.invalid/', fetch: failing } }),
    );
    try {
      const frontend = new HttpAgent({ url: server.docUrl('d', 'agui') });
      const events: BaseEvent[] = [];
      await frontend.runAgent({}, { onEvent: ({ event }) => void events.push(event) }).catch(() => undefined);
      expect(events.map((e) => e.type)).toEqual([EventType.RUN_ERROR]);
      expect(events[0]).toMatchObject({
        code: 'UPSTREAM_FAILED',
        message: expect.stringContaining('ECONNREFUSED'),
      });
    } finally {
      await server.close();
    }
  });
});

/** A fetch that answers every request with `events` as SSE. */
function fakeUpstream(events: readonly unknown[]): FetchFunction {
  const encoder = new EventEncoder();
  return async () =>
    new Response(events.map((event) => encoder.encodeSSE(event as BaseEvent)).join(''), {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
    });
}
