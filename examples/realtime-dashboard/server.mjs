/**
 * The dashboard's back end, one process: a ystate server (the document in `./.ystate`, synced to the
 * browser windows over y-websocket, the page at `/`) and the metrics service writing into it over
 * HTTP.
 */

import { fileURLToPath } from 'node:url';
import { Engine } from '@ystate/core';
import { openFileLog } from '@ystate/file';
import { createServer } from '@ystate/server';
import { startMetricsService } from './metrics-service.mjs';

/** The document the page opens unless its URL names another (`?doc=`). */
export const DOC_ID = 'dashboards/ops';

/** The built page (`npm run build`). */
export const PAGE_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * Starts the server and the metrics service.
 *
 * @param {import('./server.d.mts').DashboardOptions} [options]
 * @returns {Promise<import('./server.d.mts').RunningDashboard>}
 */
export async function startDashboard(options = {}) {
  const log = options.log ?? (await openFileLog({ dir: options.dataDir ?? '.ystate' }));
  const engine = new Engine({ log, nodeId: 'dashboard-example' });
  // What the windows write into exists before two of them could create it at once.
  await engine.write(DOC_ID, (tx) => {
    if (tx.get('/annotations') === undefined) tx.set('/annotations', []);
    if (tx.get('/thresholds') === undefined) tx.set('/thresholds', {});
  });
  const server = createServer({
    engine,
    staticDir: PAGE_DIR,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const host = options.host ?? '127.0.0.1';
  const { port } = await server.listen(options.port ?? 3001, host);
  const url = `http://${host}:${port}/`;
  const service = await startMetricsService({
    url,
    docId: DOC_ID,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  return {
    url,
    engine,
    service,
    async close() {
      await service.stop();
      await server.close();
      await engine.close();
      await log.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const running = await startDashboard({ port: Number(process.env.PORT ?? 3001) });
  console.log(`Open ${running.url} in several windows.`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      void running.close().then(() => process.exit(0));
    });
  }
}
