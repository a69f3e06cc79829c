/** Runs the example agent: `node index.mjs [port]` (default 8000). */

import { startAgent } from './agent.mjs';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8000);
const { url, close } = await startAgent({ port, host: process.env.HOST ?? '127.0.0.1' });
console.log(`AG-UI agent listening on ${url}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void close().then(() => process.exit(0));
  });
}
