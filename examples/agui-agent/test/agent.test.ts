import { HttpAgent } from '@ag-ui/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../agent.mjs';

// The example agent's stream, checked by the real @ag-ui/client (which verifies event order and
// applies the deltas with fast-json-patch).
let agent: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  agent = await startAgent({ port: 0 });
});
afterAll(async () => {
  await agent.close();
});

describe('examples/agui-agent', () => {
  it('answers a run with text, a tool call with its result, and todos appended by index', async () => {
    const client = new HttpAgent({ url: agent.url, initialState: { todos: [{ title: 'existing' }] } });
    const types: string[] = [];
    await client.runAgent(
      { forwardedProps: { todos: ['one', 'two'] } },
      { onEvent: ({ event }) => void types.push(event.type) },
    );
    expect(client.state).toEqual({
      todos: [
        { title: 'existing' },
        { title: 'one', done: false, by: 'agent' },
        { title: 'two', done: false, by: 'agent' },
      ],
    });
    expect(types[0]).toBe('RUN_STARTED');
    expect(types).toContain('TOOL_CALL_RESULT');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    expect(client.messages.map((m) => m.role)).toEqual(['assistant', 'tool']);
  });

  it('creates the list when the state has none', async () => {
    const client = new HttpAgent({ url: agent.url });
    await client.runAgent();
    expect(client.state).toMatchObject({
      todos: [{ title: 'Draft the agenda' }, { title: 'Book the room' }],
    });
  });

  it('adds the items of the last user message when no todos are forwarded', async () => {
    const client = new HttpAgent({ url: agent.url, initialState: { todos: [] } });
    client.addMessage({ id: 'm1', role: 'user', content: 'ignored' });
    client.addMessage({ id: 'm2', role: 'user', content: 'buy milk, call Bob\n water plants ,' });
    await client.runAgent();
    expect(client.state).toEqual({
      todos: ['buy milk', 'call Bob', 'water plants'].map((title) => ({ title, done: false, by: 'agent' })),
    });
  });
});
