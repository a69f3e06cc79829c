/**
 * The Lua scripts, registered on a connection with ioredis `defineCommand` (EVALSHA, falling back
 * to EVAL on NOSCRIPT, e.g. after a restart). Each touches the keys of one document only, so it
 * runs on a cluster too (all keys share the `{docId}` hash tag). docs/redis.md walks through them.
 */

import type { Cluster, Redis } from 'ioredis';

/**
 * Unsigned LEB128, as lib0's `writeVarUint` (exact for integers below 2^53). Seqs and frame
 * lengths are mostly below 2^14: those take the short paths, without a table.
 */
const VARUINT = `
local char, floor, sub = string.char, math.floor, string.sub
local function varuint(n)
  if n < 128 then return char(n) end
  if n < 16384 then return char(n % 128 + 128, floor(n / 128)) end
  local out = {}
  while n >= 128 do
    out[#out + 1] = char(n % 128 + 128)
    n = floor(n / 128)
  end
  out[#out + 1] = char(n)
  return table.concat(out)
end
`;

/** Reads base and list length: head = base + LLEN, and index i holds seq base + i + 1. */
const HEAD = `
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
`;

/**
 * KEYS: log, base. ARGV: publish command ('publish', 'spublish' or ''), channel, frames with seq 0.
 * Numbers the frames from head + 1 (splicing the varUint seq in at byte 3), pushes them, publishes
 * them as one message, and returns the first seq. RPUSH is the only write, so a failure leaves
 * nothing half done.
 */
const APPEND = `${VARUINT}${HEAD}
local n = #ARGV - 2
local first = base + len + 1
local frames = {}
local message = {'\\1', varuint(n)}
local m = 2
for i = 1, n do
  local frame = ARGV[i + 2]
  local numbered = sub(frame, 1, 2) .. varuint(first + i - 1) .. sub(frame, 4)
  frames[i] = numbered
  message[m + 1] = varuint(#numbered)
  message[m + 2] = numbered
  m = m + 2
end
for i = 1, n, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(frames, i, math.min(i + 999, n)))
end
if ARGV[1] ~= '' then redis.call(ARGV[1], ARGV[2], table.concat(message)) end
return first
`;

/** KEYS: log, base. ARGV: from, to (clamped). Returns { head, first seq returned, frames }. */
const READ = `${HEAD}
local head = base + len
local from = math.max(tonumber(ARGV[1]), base + 1)
local to = math.min(tonumber(ARGV[2]), head)
if to < from then return {head, from, {}} end
return {head, from, redis.call('LRANGE', KEYS[1], from - base - 1, to - base - 1)}
`;

/** KEYS: log, base. Returns the head. */
const HEAD_OF = `${HEAD}
return base + len
`;

/**
 * KEYS: log, base, checkpoints, lease. ARGV: seq, frame, token, lease ms (0: no lease).
 * Takes the lease (SET NX PX; the holder may renew it); when another holder has it, stores nothing
 * and returns 0. Otherwise replaces any checkpoint at seq and returns 1.
 */
const STORE_CHECKPOINT = `${HEAD}
local seq = tonumber(ARGV[1])
if seq > base + len then return redis.error_reply('YSTATE_BEYOND_HEAD ' .. (base + len)) end
if tonumber(ARGV[4]) > 0 then
  if not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[4]) then
    if redis.call('GET', KEYS[4]) ~= ARGV[3] then return 0 end
    redis.call('PEXPIRE', KEYS[4], ARGV[4])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
`;

/**
 * KEYS: log, base, checkpoints. ARGV: seq. Trims entries below seq off the front and raises base
 * by as many (so seq → index stays exact); drops checkpoints older than the newest one at or
 * below seq. Returns how many entries were dropped.
 */
const PRUNE = `${HEAD}
local seq = tonumber(ARGV[1])
local drop = math.min(math.max(seq - base - 1, 0), len)
if drop > 0 then
  redis.call('LTRIM', KEYS[1], drop, -1)
  redis.call('INCRBY', KEYS[2], drop)
end
local newest = redis.call('ZREVRANGEBYSCORE', KEYS[3], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
if newest[2] then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. newest[2]) end
return drop
`;

/**
 * y-redis layout. KEYS: updates. ARGV: channel, raw updates. Pushes the updates and publishes the
 * new list length on the channel, exactly as y-redis does; returns the first seq (list position + 1).
 */
const Y_REDIS_APPEND = `
local n = #ARGV - 1
local len = 0
for i = 2, #ARGV, 1000 do
  len = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PUBLISH', ARGV[1], tostring(len))
return len - n + 1
`;

/** The scripts as commands on a connection. */
export interface ScriptCommands {
  ystateAppend(
    log: string,
    base: string,
    publish: string,
    channel: string,
    ...frames: Buffer[]
  ): Promise<number>;
  ystateReadBuffer(log: string, base: string, from: string, to: string): Promise<[number, number, Buffer[]]>;
  ystateHead(log: string, base: string): Promise<number>;
  ystateStoreCheckpoint(
    log: string,
    base: string,
    checkpoints: string,
    lease: string,
    seq: string,
    frame: Buffer,
    token: string,
    leaseMs: string,
  ): Promise<number>;
  ystatePrune(log: string, base: string, checkpoints: string, seq: string): Promise<number>;
  ystateYRedisAppend(updates: string, channel: string, ...payloads: Buffer[]): Promise<number>;
}

const definitions: Record<string, { numberOfKeys: number; lua: string }> = {
  ystateAppend: { numberOfKeys: 2, lua: APPEND },
  ystateRead: { numberOfKeys: 2, lua: READ },
  ystateHead: { numberOfKeys: 2, lua: HEAD_OF },
  ystateStoreCheckpoint: { numberOfKeys: 4, lua: STORE_CHECKPOINT },
  ystatePrune: { numberOfKeys: 3, lua: PRUNE },
  ystateYRedisAppend: { numberOfKeys: 1, lua: Y_REDIS_APPEND },
};

const registered = new WeakSet<Redis | Cluster>();

/** Registers the scripts on `redis` (once per connection) and returns it typed with them. */
export function withScripts(redis: Redis | Cluster): ScriptCommands {
  if (!registered.has(redis)) {
    for (const [name, definition] of Object.entries(definitions)) redis.defineCommand(name, definition);
    registered.add(redis);
  }
  return redis as unknown as ScriptCommands;
}

/** Whether a script error is the beyond-head refusal of STORE_CHECKPOINT. */
export function isBeyondHead(error: unknown): boolean {
  return error instanceof Error && error.message.includes('YSTATE_BEYOND_HEAD');
}
