/**
 * The Hocuspocus peer as a process of its own: `@hocuspocus/server` 3.x on the given port, with
 * `@hocuspocus/extension-redis` when a Redis URL is given (how Hocuspocus runs on several nodes).
 * Documents live in memory (no persistence extension), as in Hocuspocus's own examples.
 * Started by servers.mjs: `node hocuspocus-server.mjs '{"port":1234,"redis":"redis://…"}'`.
 */

import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';

const { port, redis } = JSON.parse(process.argv[2] ?? '{}');
const extensions = [];
if (redis) {
  const url = new URL(redis);
  extensions.push(new Redis({ host: url.hostname, port: Number(url.port) }));
}
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true, extensions });
await server.listen();
console.log(`hocuspocus listening on ${server.address.port}`);
