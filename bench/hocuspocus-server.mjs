/**
 * The Hocuspocus peer as a process of its own: `@hocuspocus/server` 4 (on Node 22: servers.mjs
 * starts it so) or 3 on the given port, with `@hocuspocus/extension-redis` of the same major when
 * a Redis URL is given (how Hocuspocus runs on several nodes). Documents live in memory (no
 * persistence extension), as in Hocuspocus's own examples. Hocuspocus 4 is installed beside 3
 * under npm aliases (`@hocuspocus/server-4`, `@hocuspocus/extension-redis-4`: bench/package.json).
 * Started by servers.mjs: `node hocuspocus-server.mjs '{"port":1234,"redis":"redis://…","version":4}'`.
 */

const { port, redis, version = 4 } = JSON.parse(process.argv[2] ?? '{}');
const suffix = version === 4 ? '-4' : '';
const { Server } = await import(`@hocuspocus/server${suffix}`);
const extensions = [];
if (redis) {
  const { Redis } = await import(`@hocuspocus/extension-redis${suffix}`);
  const url = new URL(redis);
  extensions.push(new Redis({ host: url.hostname, port: Number(url.port) }));
}
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true, extensions });
await server.listen();
console.log(`hocuspocus listening on ${server.address.port}`);
