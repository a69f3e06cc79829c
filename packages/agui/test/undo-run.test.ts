/** An agent's run, applied through the bridge, undone by its run id while a person's concurrent edits stay. */

import { EventType } from '@ag-ui/core';
import { type Engine, StateDocument } from '@ystate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { applyAgentEvents } from '../src/index.js';
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
