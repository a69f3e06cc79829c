/** The example's server: ystate (the list in `./.ystate`) serving the page at `/`. */

import { fileURLToPath } from 'node:url';
import { Engine } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { createServer } from '@ystate/server';

/** The document the page opens unless its URL names another (`?doc=`). */
export const DOC_ID = 'demo/offline-todos';

/** The built page (`npm run build`). */
export const PAGE_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * Starts the server (with `engine` when given: tests stop and restart the server around one).
 *
 * @param {import('./server.d.mts').TodosServerOptions} [options]
 * @returns {Promise<import('./server.d.mts').RunningTodosServer>}
 */
export async function startTodosServer(options = {}) {
  const log =
    options.engine === undefined ? await openFileLog({ dir: options.dataDir ?? '.ystate' }) : undefined;
  const engine = options.engine ?? new Engine({ log: /** @type {never} */ (log), nodeId: 'offline-todos' });
  // The list exists before anyone adds to it: two pages creating it at once would make two lists.
  await engine.write(DOC_ID, (tx) => {
    if (tx.get('/todos') === undefined) tx.set('/todos', []);
  });
  const server = createServer({
    engine,
    staticDir: PAGE_DIR,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const host = options.host ?? '127.0.0.1';
  const { port } = await server.listen(options.port ?? 3002, host);
  return {
    url: `http://${host}:${port}/`,
    port,
    engine,
    async close() {
      await server.close();
      if (options.engine === undefined) {
        await engine.close();
        await log?.close();
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const running = await startTodosServer({ port: Number(process.env.PORT ?? 3002) });
  console.log(`Open ${running.url} in two windows; stop this server, keep editing, start it again.`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      void running.close().then(() => process.exit(0));
    });
  }
}
