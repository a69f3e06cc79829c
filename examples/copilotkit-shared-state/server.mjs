/**
 * The example's back end, one process: the AG-UI agent (scripted, or a model's when
 * `OPENAI_API_KEY` is set) and, in front of it, a ystate server that keeps the task list in a
 * durable log, syncs it to the pages over y-websocket, serves the page, and proxies CopilotKit's
 * agent runs (`POST /api/docs/<docId>/agui`) to the agent: the agent is given the document, and
 * its state changes are merged into it at the version it saw, so nobody's edit is lost.
 */

import { fileURLToPath } from 'node:url';
import { aguiRoutes } from '@ystate/agui';
import { Engine } from '@ystate/core';
import { startAgent } from '@ystate/example-agui-agent';
import { openFileLog } from '@ystate/file';
import { createServer } from '@ystate/server';
import { modelFromEnv } from './model.mjs';

/** The document the page opens unless its URL names another (`?doc=`). */
export const DOC_ID = 'boards/tasks';

/** The built page (`npm run build`). */
export const PAGE_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * Starts the agent and the ystate server in front of it.
 *
 * @param {import('./server.d.mts').ExampleOptions} [options]
 * @returns {Promise<import('./server.d.mts').RunningExample>}
 */
export async function startExample(options = {}) {
  const log = options.log ?? (await openFileLog({ dir: options.dataDir ?? '.ystate' }));
  const engine = new Engine({ log, nodeId: 'copilotkit-example' });
  const model = options.titles === undefined ? modelFromEnv(process.env) : undefined;
  const agent = await startAgent({
    ...(options.pause === undefined ? {} : { pause: options.pause }),
    ...((options.titles ?? model?.titles) === undefined ? {} : { titles: options.titles ?? model?.titles }),
  });
  // The list exists before anyone adds to it: two pages creating it at once would make two lists.
  await engine.write(DOC_ID, (tx) => {
    if (tx.get('/todos') === undefined) tx.set('/todos', []);
  });
  const server = createServer({
    engine,
    routes: aguiRoutes(engine, { proxy: { upstream: agent.url } }),
    staticDir: PAGE_DIR,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const { port } = await server.listen(options.port ?? 3000, options.host ?? '127.0.0.1');
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    engine,
    agent: model === undefined ? 'scripted' : `model ${model.name}`,
    async close() {
      await server.close();
      await agent.close();
      await engine.close();
      await log.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const running = await startExample({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Open ${running.url} in two windows (agent: ${running.agent}).`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      void running.close().then(() => process.exit(0));
    });
  }
}
