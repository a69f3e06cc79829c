import { EventType } from '@ag-ui/core';
import { type Engine, type ReplayStep, YStateError } from '@ystate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  AgentProtocolRule,
  AgentRun,
  AguiLifecycle,
  applyAgentEvents,
  type RunAction,
} from '../src/index.js';
import { createEngine } from './helpers.js';

let engine: Engine;
beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  await engine.close();
});

const run = { threadId: 't1', runId: 'r1' };
const started = { type: EventType.RUN_STARTED, ...run };
const finished = { type: EventType.RUN_FINISHED, ...run };

async function history(docId: string): Promise<ReplayStep[]> {
  const steps: ReplayStep[] = [];
  for await (const step of engine.replay(docId)) steps.push(step);
  return steps;
}

describe('applyAgentEvents: state', () => {
  it('merges deltas at the base the agent saw; each delta sees the agent’s earlier ones', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/todos', ['write docs', 'ship']));
    // Meanwhile a person inserts at the front: the agent's indices are stale.
    await engine.applyPatch('d', [{ op: 'add', path: '/todos/0', value: 'book room' }]);
    await applyAgentEvents(
      engine,
      'd',
      [
        started,
        { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/1', value: 'review docs' }] },
        // Against the agent's own state after the first delta: index 3 is the end of its list.
        { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/3', value: 'celebrate' }] },
        finished,
      ],
      { baseSeq: base },
    );
    expect(await engine.get('d')).toEqual({
      todos: ['book room', 'write docs', 'review docs', 'ship', 'celebrate'],
    });
  });

  it('applies a STATE_SNAPSHOT as its difference from the base, keeping concurrent edits', async () => {
    const { seq: base } = await engine.write('d', (tx) =>
      tx.set('', {
        todos: [
          { title: 'a', done: false },
          { title: 'b', done: false },
        ],
        owner: 'ann',
      }),
    );
    await engine.write('d', (tx) => {
      tx.set('/todos/1/title', 'B (renamed by a person)');
      tx.push('/todos', { title: 'c', done: false });
      tx.set('/owner', 'bob');
    });
    await applyAgentEvents(
      engine,
      'd',
      [
        started,
        // The agent's whole state: it ticked "a" and added "x" after "b", as it saw the list.
        {
          type: EventType.STATE_SNAPSHOT,
          snapshot: {
            todos: [
              { title: 'a', done: true },
              { title: 'b', done: false },
              { title: 'x', done: false },
            ],
            owner: 'ann',
          },
        },
        finished,
      ],
      { baseSeq: base },
    );
    const after = (await engine.get('d')) as { todos: { title: string; done: boolean }[]; owner: string };
    // The person's rename and owner survive; the agent's tick and insert land; "x" and "c" were
    // both appended after "b" concurrently, so Yjs orders them (either order is a merge).
    expect(after.owner).toBe('bob');
    expect(after.todos.slice(0, 2)).toEqual([
      { title: 'a', done: true },
      { title: 'B (renamed by a person)', done: false },
    ]);
    expect(
      after.todos
        .slice(2)
        .map((t) => t.title)
        .sort(),
    ).toEqual(['c', 'x']);
  });

  it('refuses a snapshot that is not an object, and a delta that does not apply to the agent’s state', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/a', 1));
    const head = await engine.log.head('d');
    await expect(
      applyAgentEvents(engine, 'd', [started, { type: EventType.STATE_SNAPSHOT, snapshot: [1] }], {
        baseSeq: base,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_VALUE', message: expect.stringContaining('STATE_SNAPSHOT') });
    await expect(
      applyAgentEvents(
        engine,
        'd',
        [started, { type: EventType.STATE_DELTA, delta: [{ op: 'test', path: '/a', value: 2 }] }],
        { baseSeq: base },
      ),
    ).rejects.toMatchObject({ code: 'PATCH_TEST_FAILED', message: expect.stringContaining('AG-UI event 1') });
    expect(await engine.log.head('d')).toBe(head);
  });
});

describe('AgentRun: what a state event merges', () => {
  /** The merge updates a run plans for `events`. */
  function merges(run: AgentRun, events: unknown[]): Uint8Array[] {
    const actions: RunAction[] = events.flatMap((event) => run.plan(event).actions);
    return actions.flatMap((action) => (action.kind === 'merge' ? [action.update] : []));
  }

  it('merges an update the size of the change, not of the document’s history', async () => {
    const items = Array.from({ length: 200 }, (_, id) => ({ id, count: 0 }));
    await engine.write('d', (tx) => tx.set('/items', items));
    // 2,000 replaces of fields picked at random: each deletes a value written at some earlier
    // time, so the document's delete set ends up with many separate ranges.
    let k = 1;
    for (let n = 1; n <= 2_000; n++) {
      k = (k * 48_271) % 2_147_483_647;
      await engine.applyPatch('d', [{ op: 'replace', path: `/items/${k % 200}/count`, value: n }]);
    }
    const base = await engine.stateAt('d', { seq: await engine.log.head('d') });
    const run = AgentRun.fromState(engine, 'd', base);
    try {
      const [update] = merges(run, [
        started,
        { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/items/5/count', value: -1 }] },
      ]);
      // The transaction's own update: one item and one deletion. (Encoding the fork's state
      // against its state vector gave ~900 bytes here, growing with every earlier edit.)
      expect(update?.byteLength).toBeLessThan(100);
      await run.execute([{ kind: 'merge', update: update as Uint8Array, origin: 'agent' }]);
      expect(((await engine.get('d')) as { items: { count: number }[] }).items[5]?.count).toBe(-1);
    } finally {
      run.dispose();
    }
  });

  it('merges exactly what the fork gained, deletions included, over several state events', async () => {
    await engine.write('d', (tx) =>
      tx.set('', { todos: [{ title: 'a' }, { title: 'b' }, { title: 'c' }], owner: 'ann', note: 'hi' }),
    );
    await engine.applyPatch('d', [{ op: 'remove', path: '/todos/1' }]);
    const base = await engine.stateAt('d', { seq: await engine.log.head('d') });
    const run = AgentRun.fromState(engine, 'd', base);
    try {
      const updates = merges(run, [
        started,
        {
          type: EventType.STATE_DELTA,
          delta: [
            { op: 'remove', path: '/todos/0' },
            { op: 'replace', path: '/owner', value: 'bob' },
            { op: 'add', path: '/todos/-', value: { title: 'd' } },
            { op: 'remove', path: '/note' },
          ],
        },
        // A no-op: nothing to merge.
        { type: EventType.STATE_DELTA, delta: [{ op: 'test', path: '/owner', value: 'bob' }] },
        { type: EventType.STATE_SNAPSHOT, snapshot: { todos: [{ title: 'e' }], owner: 'bob', n: 1 } },
      ]);
      expect(updates).toHaveLength(2);
      // The base plus the merged updates is the fork: same JSON, same structs, same deletions.
      const rebuilt = new Y.Doc({ gc: false });
      Y.applyUpdate(rebuilt, base.update);
      for (const update of updates) Y.applyUpdate(rebuilt, update);
      const fork = (run as unknown as { fork: { ydoc: Y.Doc } }).fork.ydoc;
      expect(Y.equalSnapshots(Y.snapshot(rebuilt), Y.snapshot(fork))).toBe(true);
      expect(rebuilt.getMap('state').toJSON()).toEqual(run.agentState);
      expect(run.agentState).toEqual({ todos: [{ title: 'e' }], owner: 'bob', n: 1 });
      rebuilt.destroy();
    } finally {
      run.dispose();
    }
  });
});

describe('applyAgentEvents: lifecycle', () => {
  it('records the run, steps, completed messages and tool calls with results; replay shows them with the state changes', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/todos', []));
    const result = await applyAgentEvents(
      engine,
      'd',
      [
        started,
        { type: EventType.STEP_STARTED, stepName: 'plan' },
        { type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' },
        { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: 'Hello ' },
        { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: 'there' },
        { type: EventType.TEXT_MESSAGE_END, messageId: 'm1' },
        { type: EventType.TOOL_CALL_START, toolCallId: 'c1', toolCallName: 'add', parentMessageId: 'm1' },
        { type: EventType.TOOL_CALL_ARGS, toolCallId: 'c1', delta: '{"title":' },
        { type: EventType.TOOL_CALL_ARGS, toolCallId: 'c1', delta: '"x"}' },
        { type: EventType.TOOL_CALL_END, toolCallId: 'c1' },
        { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/0', value: 'x' }] },
        { type: EventType.TOOL_CALL_RESULT, toolCallId: 'c1', messageId: 'm2', content: 'added' },
        { type: EventType.STEP_FINISHED, stepName: 'plan' },
        finished,
      ],
      { baseSeq: base },
    );
    expect(result).toMatchObject({ events: 14, run, outcome: 'finished' });
    const steps = (await history('d')).slice(1);
    expect(steps.map((s) => s.event?.name ?? `update ${JSON.stringify(s.patch)}`)).toEqual([
      AguiLifecycle.runStarted,
      AguiLifecycle.stepStarted,
      AguiLifecycle.textMessage,
      AguiLifecycle.toolCall,
      'update [{"op":"add","path":"/todos/0","value":"x"}]',
      AguiLifecycle.toolCallResult,
      AguiLifecycle.stepFinished,
      AguiLifecycle.runFinished,
    ]);
    expect(new Set(steps.map((s) => s.origin))).toEqual(new Set(['agui:r1']));
    expect(steps[0]?.event?.data).toEqual({ threadId: 't1', runId: 'r1', baseSeq: base });
    expect(steps[2]?.event?.data).toEqual({
      runId: 'r1',
      messageId: 'm1',
      role: 'assistant',
      content: 'Hello there',
    });
    expect(steps[3]?.event?.data).toEqual({
      runId: 'r1',
      toolCallId: 'c1',
      toolCallName: 'add',
      parentMessageId: 'm1',
      args: '{"title":"x"}',
    });
    expect(result.seq).toBe(await engine.log.head('d'));
  });

  it('expands chunk events into the messages and tool calls they stand for', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/n', 0));
    await applyAgentEvents(
      engine,
      'd',
      [
        started,
        { type: EventType.TEXT_MESSAGE_CHUNK, messageId: 'm1', delta: 'Hi' },
        { type: EventType.TEXT_MESSAGE_CHUNK, delta: '!' },
        { type: EventType.TOOL_CALL_CHUNK, toolCallId: 'c1', toolCallName: 'go', delta: '{}' },
        finished,
      ],
      { baseSeq: base, origin: 'agent-7' },
    );
    const events = (await history('d')).flatMap((s) => (s.event ? [s.event] : []));
    expect(events.map((e) => [e.name, e.origin])).toEqual([
      [AguiLifecycle.runStarted, 'agent-7'],
      [AguiLifecycle.textMessage, 'agent-7'],
      [AguiLifecycle.toolCall, 'agent-7'],
      [AguiLifecycle.runFinished, 'agent-7'],
    ]);
    expect(events[1]?.data).toMatchObject({ content: 'Hi!' });
  });

  it('takes an async iterable of events, writing each as it arrives', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/todos', []));
    async function* stream() {
      yield started;
      yield { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/0', value: 1 }] };
      yield finished;
    }
    const result = await applyAgentEvents(engine, 'd', stream(), { baseSeq: base });
    expect(result).toMatchObject({ events: 3, outcome: 'finished' });
    expect(await engine.get('d')).toEqual({ todos: [1] });
  });
});

describe('applyAgentEvents: refusals', () => {
  /** Event sequences that each break one ordering rule (the last event is the culprit). */
  const violations: [AgentProtocolRule, unknown[]][] = [
    [AgentProtocolRule.runStartedFirst, [{ type: EventType.STEP_STARTED, stepName: 's' }]],
    [AgentProtocolRule.oneRunAtATime, [started, { ...started, runId: 'r2' }]],
    [
      AgentProtocolRule.nothingAfterRunFinished,
      [started, finished, { type: EventType.STEP_STARTED, stepName: 's' }],
    ],
    [
      AgentProtocolRule.nothingAfterRunError,
      [started, { type: EventType.RUN_ERROR, message: 'x' }, finished],
    ],
    [
      AgentProtocolRule.runFinishesClosed,
      [started, { type: EventType.TEXT_MESSAGE_START, messageId: 'm' }, finished],
    ],
    [
      AgentProtocolRule.textMessagePairing,
      [started, { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm', delta: 'x' }],
    ],
    [AgentProtocolRule.textMessagePairing, [started, { type: EventType.TEXT_MESSAGE_END, messageId: 'm' }]],
    [
      AgentProtocolRule.textMessagePairing,
      [
        started,
        { type: EventType.TEXT_MESSAGE_START, messageId: 'm' },
        { type: EventType.TEXT_MESSAGE_START, messageId: 'm' },
      ],
    ],
    [
      AgentProtocolRule.toolCallPairing,
      [started, { type: EventType.TOOL_CALL_ARGS, toolCallId: 'c', delta: '{}' }],
    ],
    [AgentProtocolRule.toolCallPairing, [started, { type: EventType.TOOL_CALL_END, toolCallId: 'c' }]],
    [
      AgentProtocolRule.toolCallPairing,
      [
        started,
        { type: EventType.TOOL_CALL_START, toolCallId: 'c', toolCallName: 'f' },
        { type: EventType.TOOL_CALL_START, toolCallId: 'c', toolCallName: 'f' },
      ],
    ],
    [AgentProtocolRule.reasoningPairing, [started, { type: EventType.REASONING_END, messageId: 'r' }]],
    [AgentProtocolRule.stepPairing, [started, { type: EventType.STEP_FINISHED, stepName: 's' }]],
    [
      AgentProtocolRule.stepPairing,
      [
        started,
        { type: EventType.STEP_STARTED, stepName: 's' },
        { type: EventType.STEP_STARTED, stepName: 's' },
      ],
    ],
    [
      AgentProtocolRule.subagentPairing,
      [started, { type: EventType.SUBAGENT_FINISHED, subagentRunId: 's1' }],
    ],
    [
      AgentProtocolRule.sameSubagent,
      [
        started,
        { type: EventType.TEXT_MESSAGE_START, messageId: 'm' },
        { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm', delta: 'x', subagentRunId: 's1' },
      ],
    ],
    [AgentProtocolRule.chunkIdentified, [started, { type: EventType.TEXT_MESSAGE_CHUNK, delta: 'x' }]],
    [
      AgentProtocolRule.chunkIdentified,
      [started, { type: EventType.TOOL_CALL_CHUNK, toolCallId: 'c', delta: '{}' }],
    ],
  ];

  it.each(violations)(
    'refuses a stream breaking "%s", naming the rule and changing nothing',
    async (rule, events) => {
      const { seq: base } = await engine.write('d', (tx) => tx.set('/n', 1));
      const before = await engine.get('d');
      const head = await engine.log.head('d');
      // A state delta just before the culprit must not land either.
      const delta = { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/n', value: 2 }] };
      const input = events.length > 1 ? [...events.slice(0, -1), delta, events.at(-1)] : events;
      const attempt = applyAgentEvents(engine, 'd', input, { baseSeq: base });
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(YStateError);
      expect(error).toMatchObject({
        code: 'AGENT_PROTOCOL_VIOLATION',
        message: expect.stringContaining(`"${rule}"`),
      });
      expect(await engine.log.head('d')).toBe(head);
      expect(await engine.get('d')).toEqual(before);
    },
  );

  it.each([
    ['not an object', 42],
    ['an unknown type', { type: 'NOT_AN_EVENT' }],
    ['a missing field', { type: EventType.TEXT_MESSAGE_START }],
    [
      'a malformed delta',
      { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: 'no-slash', value: 1 }] },
    ],
  ])('refuses an event with %s as INVALID_EVENT, changing nothing', async (_what, bad) => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/n', 1));
    const head = await engine.log.head('d');
    await expect(applyAgentEvents(engine, 'd', [started, bad], { baseSeq: base })).rejects.toMatchObject({
      code: 'INVALID_EVENT',
      message: expect.stringMatching(/^AG-UI event 1\b.*is not a valid AG-UI event: /),
    });
    expect(await engine.log.head('d')).toBe(head);
  });

  it('stops a stream at the first bad event: what came before stays, the bad event changes nothing', async () => {
    const { seq: base } = await engine.write('d', (tx) => tx.set('/todos', []));
    async function* stream() {
      yield started;
      yield { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/0', value: 'kept' }] };
      yield { type: EventType.TEXT_MESSAGE_END, messageId: 'never-started' };
      yield { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/1', value: 'never' }] };
    }
    await expect(applyAgentEvents(engine, 'd', stream(), { baseSeq: base })).rejects.toMatchObject({
      code: 'AGENT_PROTOCOL_VIOLATION',
      message: expect.stringContaining(AgentProtocolRule.textMessagePairing),
    });
    expect(await engine.get('d')).toEqual({ todos: ['kept'] });
  });
});
