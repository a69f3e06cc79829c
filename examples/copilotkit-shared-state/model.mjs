/**
 * The agent with a real model: an OpenAI-compatible chat-completions endpoint chooses the todos to
 * add (one `add_todos` tool call); the agent then writes them into the shared list exactly as the
 * scripted one does. Off unless `OPENAI_API_KEY` is set.
 *
 * Environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default https://api.openai.com/v1; any
 * OpenAI-compatible server: a local Ollama or vLLM, a gateway), `OPENAI_MODEL` (default gpt-4o-mini).
 */

const ADD_TODOS = {
  type: 'function',
  function: {
    name: 'add_todos',
    description: 'Add todos to the shared task list.',
    parameters: {
      type: 'object',
      properties: { titles: { type: 'array', items: { type: 'string' }, description: 'Short todo titles.' } },
      required: ['titles'],
    },
  },
};

/**
 * The model agent's `titles` function when `OPENAI_API_KEY` is set, else undefined.
 *
 * @param {Record<string, string | undefined>} env
 * @param {typeof fetch} [fetchImpl]
 * @returns {{ name: string; titles: (input: import('@ag-ui/core').RunAgentInput) => Promise<string[]> } | undefined}
 */
export function modelFromEnv(env, fetchImpl = fetch) {
  const apiKey = env.OPENAI_API_KEY;
  if (apiKey === undefined || apiKey === '') return undefined;
  const baseUrl = (env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const model = env.OPENAI_MODEL ?? 'gpt-4o-mini';
  return {
    name: model,
    async titles(input) {
      const response = await fetchImpl(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model,
          tools: [ADD_TODOS],
          tool_choice: { type: 'function', function: { name: 'add_todos' } },
          messages: [
            {
              role: 'system',
              content:
                'You help a team keep a shared task list. Answer with the add_todos tool: the todos the ' +
                `user asks for, or useful next steps. The list now: ${JSON.stringify(input.state)}`,
            },
            ...input.messages
              .filter((message) => message.role === 'user' || message.role === 'assistant')
              .map((message) => ({ role: message.role, content: String(message.content ?? '') })),
          ],
        }),
      });
      if (!response.ok) throw new Error(`the model answered ${response.status}: ${await response.text()}`);
      const answer = await response.json();
      const call = answer.choices?.[0]?.message?.tool_calls?.[0];
      const titles = call === undefined ? undefined : JSON.parse(call.function.arguments).titles;
      if (!Array.isArray(titles) || !titles.every((title) => typeof title === 'string')) {
        throw new Error('the model did not call add_todos with a list of titles');
      }
      return titles;
    },
  };
}
