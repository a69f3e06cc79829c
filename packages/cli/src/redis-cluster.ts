/**
 * `--redis-cluster`: the seed nodes of a Redis Cluster as `redis://` or `rediss://` URLs (comma
 * separated on the command line and in `YSTATE_REDIS_CLUSTER`, a string or an array in the config
 * file), and the ioredis cluster configuration they stand for. TLS and credentials are written in
 * the URLs as with `--redis`; a cluster has one set of them, so every seed must agree.
 */

import type { RedisClusterConfig } from '@ystate/redis';
import { z } from 'zod';

/** A cluster node as written in a seed URL. */
interface Seed {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string;
  readonly password: string;
}

/** Redis' own default port, for a seed URL that names none. */
const DEFAULT_PORT = 6379;

/** Seed URLs: one or more `redis://` / `rediss://` URLs, as a comma-separated string or an array. */
export const redisClusterSchema = z.union([z.string(), z.array(z.string())]).transform((raw, context) => {
  const urls = (typeof raw === 'string' ? raw.split(',') : raw).map((url) => url.trim()).filter(Boolean);
  if (urls.length === 0) {
    context.addIssue({ code: 'custom', message: 'expected one or more redis:// URLs, comma-separated' });
    return z.NEVER;
  }
  const problem = urls.map(seedProblem).find((reason) => reason !== undefined) ?? agreementProblem(urls);
  if (problem !== undefined) {
    context.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return urls;
});

/** What is wrong with one seed URL, if anything. */
function seedProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'every seed must be a URL such as redis://host:port or rediss://host:port';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return `expected URLs starting with redis:// or rediss://, got ${parsed.protocol}//`;
  if (parsed.hostname === '') return `${redactSeed(url)} names no host`;
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') return `a Redis Cluster has database 0 only (${redactSeed(url)} names /${db})`;
  return undefined;
}

/** Seeds of one cluster share its TLS setting and credentials. */
function agreementProblem(urls: readonly string[]): string | undefined {
  const seeds = urls.map(seedOf);
  const [first] = seeds;
  if (first === undefined) return undefined;
  if (seeds.some((seed) => seed.tls !== first.tls))
    return 'mixes redis:// and rediss:// seeds (a cluster uses TLS on every node or on none)';
  if (seeds.some((seed) => seed.username !== first.username || seed.password !== first.password))
    return 'the seeds name different users or passwords (a cluster has one set of credentials)';
  return undefined;
}

function seedOf(url: string): Seed {
  const parsed = new URL(url);
  return {
    // `new URL` keeps IPv6 hosts in brackets; sockets want them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? DEFAULT_PORT : Number(parsed.port),
    tls: parsed.protocol === 'rediss:',
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** The ioredis cluster configuration of validated seed URLs: their nodes, TLS and credentials. */
export function clusterConfigOf(urls: readonly string[]): RedisClusterConfig {
  const seeds = urls.map(seedOf);
  const first = seeds[0];
  const redisOptions = {
    ...(first?.username ? { username: first.username } : {}),
    ...(first?.password ? { password: first.password } : {}),
    ...(first?.tls ? { tls: {} } : {}),
  };
  return {
    nodes: seeds.map(({ host, port }) => ({ host, port })),
    ...(Object.keys(redisOptions).length > 0 ? { redisOptions } : {}),
  };
}

/** The seed URLs without their passwords, for logs: `redis://h1:7000,redis://h2:7001`. */
export function redactSeeds(urls: readonly string[]): string {
  return urls.map(redactSeed).join(',');
}

function redactSeed(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    // A seed is host:port: no trailing slash.
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}
