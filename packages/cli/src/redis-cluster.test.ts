import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, YStateError } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { clusterConfigOf, redactSeeds, redisClusterSchema } from './redis-cluster.js';
import { parseServeArgs } from './serve-options.js';

describe('redisClusterSchema', () => {
  it('takes comma-separated seeds or an array, trimmed', () => {
    expect(redisClusterSchema.parse(' redis://h1:7000 , redis://h2:7001,')).toEqual([
      'redis://h1:7000',
      'redis://h2:7001',
    ]);
    expect(redisClusterSchema.parse(['rediss://h1:7000'])).toEqual(['rediss://h1:7000']);
  });

  it.each([
    ['', /one or more redis:\/\/ URLs/],
    ['h1:7000', /redis:\/\/ or rediss:\/\//],
    ['http://h1:7000', /redis:\/\/ or rediss:\/\/, got http:/],
    ['redis://h1:7000/2', /database 0 only/],
    ['redis://h1:7000,rediss://h2:7001', /mixes redis:\/\/ and rediss:\/\//],
    ['redis://:a@h1:7000,redis://:b@h2:7001', /different users or passwords/],
  ])('refuses %j', (raw, reason) => {
    const result = redisClusterSchema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(reason);
  });

  it('never puts a password in its reasons', () => {
    const result = redisClusterSchema.safeParse('redis://u:s3cret@h1:7000/5');
    expect(result.error?.issues[0]?.message).toMatch(/database 0 only/);
    expect(result.error?.issues[0]?.message).not.toContain('s3cret');
  });
});

describe('clusterConfigOf', () => {
  it('gives ioredis the nodes, and TLS and credentials for every node', () => {
    expect(clusterConfigOf(['rediss://app:p%40ss@h1:7000', 'rediss://app:p%40ss@[::1]'])).toEqual({
      nodes: [
        { host: 'h1', port: 7000 },
        { host: '::1', port: 6379 },
      ],
      redisOptions: { username: 'app', password: 'p@ss', tls: {} },
    });
    expect(clusterConfigOf(['redis://h1:7000'])).toEqual({ nodes: [{ host: 'h1', port: 7000 }] });
  });

  it('redacts passwords for logs', () => {
    expect(redactSeeds(['redis://:pw@h1:7000', 'redis://h2:7001'])).toBe(
      'redis://:***@h1:7000,redis://h2:7001',
    );
  });
});

describe('ystate serve --redis-cluster', () => {
  const cwd = tmpdir();
  const seeds = 'redis://h1:7000,redis://h2:7001';

  it('comes from the flag, YSTATE_REDIS_CLUSTER or the "redisCluster" config key', async () => {
    const flag = await parseServeArgs(['--redis-cluster', seeds], {}, cwd);
    const env = await parseServeArgs([], { YSTATE_REDIS_CLUSTER: seeds }, cwd);
    const file = join(cwd, `ystate-cluster-${process.pid}.json`);
    await writeFile(file, JSON.stringify({ redisCluster: ['redis://h1:7000', 'redis://h2:7001'] }));
    const config = await parseServeArgs(['--config', file], {}, cwd);
    for (const invocation of [flag, env, config]) {
      expect(invocation.help).toBe(false);
      if (!invocation.help) expect(invocation.config.redisCluster).toEqual(seeds.split(','));
    }
  });

  it.each([
    [['--redis-cluster', seeds, '--redis', 'redis://h:6379'], /--redis and --redis-cluster were both given/],
    [['--redis-cluster', seeds, '--postgres', 'postgres://h/db'], /--redis-cluster and --postgres/],
    [
      ['--redis-cluster', seeds, '--fsync', 'never'],
      /--fsync applies to the embedded file store only, not with --redis-cluster/,
    ],
  ])('refuses %j with INVALID_CONFIG', async (argv, message) => {
    const error = await parseServeArgs(argv, {}, cwd).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(YStateError);
    expect((error as YStateError).code).toBe(ErrorCode.INVALID_CONFIG);
    expect((error as YStateError).message).toMatch(message);
  });
});
