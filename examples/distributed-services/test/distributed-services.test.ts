import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RedisServer, startRedisServer } from '@ystate/redis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the example as its README says, on a redis-server of the test's own (REDIS_URL): two
// `ystate serve` nodes, the API and worker processes, a y-websocket "browser"; node A is SIGKILLed.
const script = fileURLToPath(new URL('../index.mjs', import.meta.url));
let redis: RedisServer;
let stdout = '';

/** The value printed after `label` (padded to 24 columns) on its one line. */
function printed(label: string): string {
  const lines = stdout.split('\n').filter((line) => line.startsWith(label.padEnd(24)));
  if (lines.length !== 1) throw new Error(`expected one line "${label}", got ${lines.length} in:\n${stdout}`);
  return lines[0]!.slice(24);
}

describe('examples/distributed-services', () => {
  beforeAll(async () => {
    redis = await startRedisServer();
    ({ stdout } = await promisify(execFile)(process.execPath, [script], {
      env: { ...process.env, REDIS_URL: redis.url },
      timeout: 60_000,
    }));
  }, 90_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('shares the orders of the API, the worker and the browser through both nodes before the kill', () => {
    expect(printed('redis')).toBe(redis.url);
    expect(JSON.parse(printed('before the kill'))).toEqual({ orders: 4, packed: 4 });
    expect(stdout).toMatch(/api placed tea {8}o-\w+ at seq \d+ via node A/);
  });

  it('carries on through node B once node A is killed mid-write, with every acknowledged order kept', () => {
    expect(printed('node A killed')).toBe('SIGKILL, with three orders in flight');
    // Each in-flight order was answered by node A before it died, or sent again to node B.
    for (const item of ['sugar', 'milk', 'spoons'])
      expect(stdout).toMatch(new RegExp(`api placed ${item} +o-\\w+ at seq \\d+ via node [AB]`));
    expect(JSON.parse(printed('after the kill'))).toEqual({ orders: 8, packed: 8 });
    expect(JSON.parse(printed('packed by'))).toEqual(['worker-1']);
    expect(printed('api orders on node B')).toBe('6/6');
  });

  it('keeps the state in Redis: a restarted node A has all of it', async () => {
    expect(JSON.parse(printed('node A restarted'))).toEqual({ orders: 8, packed: 8 });
    expect(printed('nodes agree')).toBe('true');
    expect(await redis.cli('--scan', '--pattern', '*shop/orders*')).toMatch(/shop\/orders/);
  });
});
