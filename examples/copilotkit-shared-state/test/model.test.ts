/**
 * The model path without a model provider (none is reachable where this runs): a local HTTP server
 * speaking the OpenAI chat-completions wire format checks the request the agent sends (the tool, the
 * conversation, the list) and answers with a tool call; the agent then writes what it chose.
 */

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunAgentInput } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromEnv } from '../model.mjs';

let requests: { auth: string | undefined; body: Record<string, unknown> }[] = [];
let reply: unknown;
const provider = createServer(async (req: IncomingMessage, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  requests.push({ auth: req.headers.authorization, body: JSON.parse(body) });
  res.writeHead(req.url === '/v1/chat/completions' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(reply));
});
let baseUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1/`;
});
afterAll(() => {
  provider.close();
});

const input: RunAgentInput = {
  threadId: 't',
  runId: 'r',
  state: { todos: [{ title: 'Write the brief', done: false, by: 'Ada' }] },
  messages: [{ id: 'm', role: 'user', content: 'plan the offsite' }],
  tools: [],
  context: [],
  forwardedProps: {},
};

describe('the model agent', () => {
  it('is off without OPENAI_API_KEY', () => {
    expect(modelFromEnv({})).toBeUndefined();
    expect(modelFromEnv({ OPENAI_API_KEY: '' })).toBeUndefined();
  });

  it('asks an OpenAI-compatible endpoint for add_todos and returns its titles', async () => {
    requests = [];
    reply = {
      choices: [
        {
          message: {
            tool_calls: [
              { function: { name: 'add_todos', arguments: JSON.stringify({ titles: ['Book a venue'] }) } },
            ],
          },
        },
      ],
    };
    const model = modelFromEnv({ OPENAI_API_KEY: 'k-1', OPENAI_BASE_URL: baseUrl, OPENAI_MODEL: 'm-small' });
    expect(model?.name).toBe('m-small');
    expect(await model?.titles(input)).toEqual(['Book a venue']);
    const [sent] = requests;
    expect(sent?.auth).toBe('Bearer k-1');
    expect(sent?.body).toMatchObject({
      model: 'm-small',
      tool_choice: { type: 'function', function: { name: 'add_todos' } },
      messages: [{ role: 'system' }, { role: 'user', content: 'plan the offsite' }],
    });
    expect(JSON.stringify(sent?.body.messages)).toContain('Write the brief');
  });

  it('fails the run with a clear message when the model does not call the tool', async () => {
    reply = { choices: [{ message: { content: 'sure!' } }] };
    const model = modelFromEnv({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: baseUrl });
    await expect(model?.titles(input)).rejects.toThrow(/did not call add_todos/);
  });
});
