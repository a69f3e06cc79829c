/** An agent's run, applied through the bridge, undone by its run id while a person's concurrent edits stay. */

import { HttpAgent } from '@ag-ui/client';
import { EventType } from '@ag-ui/core';
import { type Engine, StateDocument } from '@ystate/core';
import { createServer } from '@ystate/server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { aguiRoutes, applyAgentEvents } from '../src/index.js';
import { createEngine } from './helpers.js';

let engine: Engine;
beforeEach(() => {
  engine = createEngine();
});
afterEach(async () => {
  await engine.close();
});

describe('undoing an AG-UI run by its run id', () => {
  it('removes what the run did (deltas and snapshot) and keeps a person’s edits made during the run', async () => {
    const { seq: base } = await engine.write('d', (tx) =>
      tx.set('', { todos: ['one', 'two'], title: 'plan', owner: 'ann' }),
    );
    const person = new StateDocument('person');
    Y.applyUpdate(person.ydoc, (await engine.stateAt('d', { seq: base })).update);
    const before = Y.encodeStateVector(person.ydoc);
    person.insert('/todos/0', 'zero');
    person.set('/owner', 'bob');

    await Promise.all([
      applyAgentEvents(
        engine,
        'd',
        [
          { type: EventType.RUN_STARTED, threadId: 't', runId: 'run-7' },
          { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/2', value: 'three' }] },
          { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/title', value: 'PLAN' }] },
          {
            type: EventType.STATE_SNAPSHOT,
            snapshot: { todos: ['one', 'two', 'three'], title: 'PLAN', owner: 'ann', done: true },
          },
          { type: EventType.RUN_FINISHED, threadId: 't', runId: 'run-7' },
        ],
        { baseSeq: base },
      ),
      engine.receive('d', Y.encodeStateAsUpdate(person.ydoc, before), { origin: 'person' }),
    ]);
    expect(await engine.get('d')).toEqual({
      todos: ['zero', 'one', 'two', 'three'],
      title: 'PLAN',
      owner: 'bob',
      done: true,
    });

    const undone = await engine.undo('d', { run: 'run-7' }, { origin: 'ann' });
    expect(undone).toMatchObject({ origin: 'agui:run-7', entries: 3 });
    expect(await engine.get('d')).toEqual({ todos: ['zero', 'one', 'two'], title: 'plan', owner: 'bob' });
    person.destroy();
  });
});

describe('undoing a run from an AG-UI client: forwardedProps.ystate.undo on POST /agui', () => {
  it('undoes the run by its id, streams the result, and needs write access', async () => {
    // The real server; who calls is read from a header (onAuthenticate), with read or write grants.
    const server = createServer({
      engine,
      routes: aguiRoutes(engine),
      logger: pino({ level: 'silent' }),
      hooks: {
        onAuthenticate: ({ request }) => {
          const who = String(request.headers['x-user'] ?? 'reader');
          return {
            id: who,
            grants: [{ pattern: '**', access: who === 'ann' ? 'write' : 'read' }],
            claims: {},
          };
        },
      },
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const { seq: base } = await engine.write('d', (tx) => tx.set('', { title: 'plan', todos: ['one'] }), {
        origin: 'ann',
      });
      await applyAgentEvents(
        engine,
        'd',
        [
          { type: EventType.RUN_STARTED, threadId: 't', runId: 'run-9' },
          { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/title', value: 'PLAN' }] },
          { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos/-', value: 'two' }] },
          { type: EventType.RUN_FINISHED, threadId: 't', runId: 'run-9' },
        ],
        { baseSeq: base },
      );
      await engine.write('d', (tx) => tx.set('/owner', 'bob'), { origin: 'bob' });
      const url = `http://127.0.0.1:${port}/api/docs/d/agui`;

      const reader = new HttpAgent({ url, headers: { 'x-user': 'reader' } });
      await expect(
        reader.runAgent({ forwardedProps: { ystate: { undo: { run: 'run-9' }, idleMs: 0 } } }),
      ).rejects.toThrow(/403/);
      const agent = new HttpAgent({ url, headers: { 'x-user': 'ann' } });
      await expect(
        agent.runAgent({ forwardedProps: { ystate: { undo: { run: 'nope' }, idleMs: 0 } } }),
      ).rejects.toThrow(/404/);
      expect(await engine.get('d')).toEqual({ title: 'PLAN', todos: ['one', 'two'], owner: 'bob' });

      let finished: unknown;
      await agent.runAgent(
        { forwardedProps: { ystate: { undo: { run: 'run-9' }, idleMs: 0 } } },
        {
          onRunFinishedEvent: ({ event }) => {
            finished = event.result;
          },
        },
      );
      // The agent's state (its snapshot) is the document without run-9's changes, bob's edit kept.
      expect(agent.state).toEqual({ title: 'plan', todos: ['one'], owner: 'bob' });
      expect(await engine.get('d')).toEqual({ title: 'plan', todos: ['one'], owner: 'bob' });
      expect(finished).toMatchObject({ undone: { origin: 'agui:run-9', entries: 2 } });
      const [last] = await engine.log.read('d', { from: await engine.log.head('d') });
      expect(last?.origin).toBe('ann');
    } finally {
      await server.close();
    }
  });
});
