/**
 * A small AG-UI agent: plain node:http, events framed by @ag-ui/encoder. For every run it answers
 * with RUN_STARTED, a text message, a tool call `add_todos` with its result, one STATE_DELTA per
 * todo appending it to `/todos` BY INDEX against the state it was given (so by the time the
 * deltas arrive, their base is stale if anyone else edited the list meanwhile), and RUN_FINISHED.
 *
 * The todos it adds: `forwardedProps.todos` (strings) if given, else the items of the last user
 * message (split at commas and new lines: "milk, eggs" adds two), else two defaults.
 */

import { createServer } from 'node:http';
import { EventType } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import { EventEncoder } from '@ag-ui/encoder';

const DEFAULT_TODOS = ['Draft the agenda', 'Book the room'];

/**
 * The events of one run, in order. `titles` decides what to add (default `titlesOf`: scripted, no
 * model). `pause` is awaited before the state deltas: tests use it to let someone edit the
 * document while the agent "thinks".
 *
 * @param {import('@ag-ui/core').RunAgentInput} input
 * @param {Pick<import('./agent.d.mts').AgentOptions, 'pause' | 'titles'>} [options]
 * @returns {AsyncGenerator<import('@ag-ui/core').BaseEvent>}
 */
export async function* agentEvents(input, options = {}) {
  const { threadId, runId } = input;
  const titles = await (options.titles ?? titlesOf)(input);
  const state = input.state && typeof input.state === 'object' ? input.state : {};
  const todos = Array.isArray(state.todos) ? state.todos : undefined;

  yield { type: EventType.RUN_STARTED, threadId, runId };

  const messageId = `${runId}-msg`;
  yield { type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' };
  yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: `Adding ${titles.length} todos ` };
  yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: 'to the list.' };
  yield { type: EventType.TEXT_MESSAGE_END, messageId };

  const toolCallId = `${runId}-call`;
  yield {
    type: EventType.TOOL_CALL_START,
    toolCallId,
    toolCallName: 'add_todos',
    parentMessageId: messageId,
  };
  yield { type: EventType.TOOL_CALL_ARGS, toolCallId, delta: JSON.stringify({ titles }) };
  yield { type: EventType.TOOL_CALL_END, toolCallId };

  await options.pause?.(input);

  // Appends by index, computed from the state the agent was given.
  let length = todos?.length ?? 0;
  if (todos === undefined)
    yield { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/todos', value: [] }] };
  for (const title of titles) {
    yield {
      type: EventType.STATE_DELTA,
      delta: [{ op: 'add', path: `/todos/${length}`, value: { title, done: false, by: 'agent' } }],
    };
    length++;
  }

  yield {
    type: EventType.TOOL_CALL_RESULT,
    messageId: `${runId}-result`,
    toolCallId,
    content: `added ${titles.length} todos`,
    role: 'tool',
  };
  yield { type: EventType.RUN_FINISHED, threadId, runId };
}

/**
 * What a run adds: `forwardedProps.todos`, else the items of the last user message, else defaults.
 *
 * @param {import('@ag-ui/core').RunAgentInput} input
 * @returns {string[]}
 */
export function titlesOf(input) {
  const props = input.forwardedProps;
  if (props && Array.isArray(props.todos) && props.todos.every((t) => typeof t === 'string'))
    return props.todos;
  const said = input.messages.findLast((message) => message.role === 'user')?.content;
  const items = (typeof said === 'string' ? said : '')
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : DEFAULT_TODOS;
}

/**
 * Starts the agent on `port` (0 = any free port). Every POST is a run.
 *
 * @param {import('./agent.d.mts').AgentOptions} [options]
 * @returns {Promise<{ url: string; close: () => Promise<void> }>}
 */
export async function startAgent(options = {}) {
  const server = createServer((req, res) => {
    handle(req, res, options).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve(undefined)),
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
async function handle(req, res, options) {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const parsed = RunAgentInputSchema.safeParse(JSON.parse(body || 'null'));
  if (!parsed.success) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`not a RunAgentInput: ${parsed.error.message}`);
    return;
  }
  const encoder = new EventEncoder({ accept: req.headers.accept });
  res.writeHead(200, { 'content-type': encoder.getContentType(), 'cache-control': 'no-cache' });
  for await (const event of agentEvents(parsed.data, options)) {
    if (res.destroyed) return;
    res.write(encoder.encodeBinary(event));
  }
  res.end();
}
