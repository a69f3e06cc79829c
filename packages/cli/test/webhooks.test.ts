/**
 * Webhooks as operators run them: `ystate serve` child processes with subscriptions in their config
 * file, and a real HTTP receiver that verifies every signature with the `standardwebhooks` library.
 * A node SIGKILLed while its message is in flight is restarted and delivers that range again; a
 * receiver down for a while gets everything once it is back, and `ystate webhooks status` and
 * /metrics show the failure meanwhile; two nodes on one Redis deliver each change once, and when the
 * node delivering dies the other takes over. Every change is delivered, in order, at least once;
 * duplicates are recognised by their seqs.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useRedisServer } from '@ystate/redis/testing';
import { WebhookReceiver } from '@ystate/server/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, ServeProcess, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const redis = useRedisServer();

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const secret = `whsec_${randomBytes(32).toString('base64')}`;

async function setup(): Promise<{ dir: string; config: string; receiver: WebhookReceiver }> {
  const dir = await tempDir('ystate-webhooks-');
  cleanups.push(() => dir.remove());
  const receiver = await WebhookReceiver.start(secret);
  cleanups.push(() => receiver.close());
  const config = join(dir.path, 'ystate.json');
  await writeFile(
    config,
    JSON.stringify({
      webhooks: {
        subscriptions: [{ id: 'crm', url: receiver.url, docs: 'projects/**', secret }],
        pollMs: 100,
        leaseMs: 1500,
        retry: { minMs: 100, maxMs: 400 },
      },
    }),
  );
  return { dir: dir.path, config, receiver };
}

async function serve(args: readonly string[], cwd: string): Promise<ServeProcess> {
  const server = await ServeProcess.start(['--port', '0', '--log-level', 'info', ...args], { cwd });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

async function patch(server: ServeProcess, docId: string, ops: unknown[]): Promise<number> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(docId)}/state`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify(ops),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { seq: number }).seq;
}

/**
 * Checks what users rely on for one document: every seq 1…head acknowledged, messages in order (a
 * message never starts after the end of what was acknowledged before it, so no gap), and returns
 * how many seqs were delivered more than once.
 */
function assertDelivered(receiver: WebhookReceiver, docId: string, head: number): number {
  let covered = 0;
  let duplicates = 0;
  for (const { body } of receiver.acknowledged.filter((m) => m.body.data.docId === docId)) {
    expect(body.data.from).toBeLessThanOrEqual(covered + 1);
    duplicates += Math.max(0, Math.min(covered, body.data.to) - body.data.from + 1);
    covered = Math.max(covered, body.data.to);
  }
  expect(covered).toBe(head);
  expect([...receiver.seqsOf(docId)].sort((a, b) => a - b)).toEqual(
    Array.from({ length: head }, (_, i) => i + 1),
  );
  expect(receiver.rejected).toBe(0);
  return duplicates;
}

describe('ystate webhooks', () => {
  it('has --help, refuses bad usage, and a bad subscription stops serve with INVALID_CONFIG, never printing the secret', async () => {
    const { dir } = await setup();
    const help = await runCli(['webhooks', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ystate webhooks status');
    expect((await runCli(['--help'], { cwd: dir })).stdout).toMatch(/webhooks {2}show each webhook/);
    expect((await runCli(['webhooks', 'nope', '--data', 'data'], { cwd: dir })).code).toBe(2);
    await mkdir(join(dir, 'data'));
    const empty = await runCli(['webhooks', 'status', '--data', 'data'], { cwd: dir });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('no webhook subscription has delivery state');

    const badSecret = 'whsec_not base64 at all!';
    const config = join(dir, 'bad.json');
    await writeFile(
      config,
      JSON.stringify({
        webhooks: {
          subscriptions: [{ id: 'x', url: 'http://127.0.0.1:9/h', docs: '**', secret: badSecret }],
        },
      }),
    );
    const started = await runCli(['serve', '--port', '0', '--config', config, '--data', 'data'], {
      cwd: dir,
    });
    expect(started.code).toBe(2);
    expect(started.stderr + started.stdout).toContain('webhooks.0.secret');
    expect(started.stderr + started.stdout).not.toContain(badSecret);
  });
});

describe('ystate serve with webhooks', () => {
  it('delivers again what a SIGKILLed node had in flight, and catches up after a receiver outage', async () => {
    const { dir, config, receiver } = await setup();
    const data = join(dir, 'data');
    let node = await serve(['--config', config, '--data', data], dir);
    for (let i = 0; i < 5; i++) await patch(node, 'projects/a', [{ op: 'add', path: `/k${i}`, value: i }]);
    await receiver.until(() => receiver.seqsOf('projects/a').size === 5, 'seqs 1…5');

    // The receiver takes the next message but does not answer; the node dies meanwhile.
    receiver.mode = { answer: 'hold' };
    const before = receiver.messages.length;
    await patch(node, 'projects/a', [{ op: 'add', path: '/k5', value: 5 }]);
    await patch(node, 'projects/b', [{ op: 'add', path: '/x', value: 'b' }]);
    await receiver.until(() => receiver.messages.length > before, 'a message in flight');
    const inFlight = receiver.messages.slice(before).map((m) => m.id);
    await node.stop('SIGKILL');
    await waitFor(() => (receiver.holding === 0 ? true : undefined), 'the killed node’s requests to drop');
    receiver.release();
    node = await serve(['--config', config, '--data', data], dir);
    await receiver.until(
      () => receiver.seqsOf('projects/a').size === 6 && receiver.seqsOf('projects/b').size === 1,
      'everything after the restart',
    );
    // The range that was in flight came again, under the same message id.
    const acknowledgedIds = receiver.acknowledged.map((m) => m.id);
    expect(inFlight.some((id) => acknowledgedIds.includes(id))).toBe(true);

    // The receiver goes down; changes go on; the failure is visible; then it comes back.
    await receiver.down();
    for (let i = 6; i < 10; i++) await patch(node, 'projects/a', [{ op: 'add', path: `/k${i}`, value: i }]);
    await expect
      .poll(
        async () => {
          const status = await runCli(['webhooks', 'status', '--data', data], { cwd: dir });
          return JSON.parse(status.stdout || '{}') as {
            healthy?: boolean;
            failing?: Record<string, unknown>;
          };
        },
        { timeout: 15_000, interval: 200 },
      )
      .toMatchObject({ healthy: false, failing: { 'projects/a': { from: 7 } } });
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/ystate_webhook_failing_documents\{subscription="crm"\} 1/);
    await receiver.up();
    await receiver.until(() => receiver.seqsOf('projects/a').size === 10, 'seqs 1…10 after the outage');
    assertDelivered(receiver, 'projects/a', 10);
    assertDelivered(receiver, 'projects/b', 1);
    await expect
      .poll(async () => {
        const status = await runCli(['webhooks', 'status', '--data', data], { cwd: dir });
        return JSON.parse(status.stdout || '{}') as { healthy?: boolean };
      })
      .toMatchObject({ healthy: true, behind: {} });
    // Documents outside the pattern were never sent.
    await patch(node, 'other/z', [{ op: 'add', path: '/x', value: 1 }]);
    await patch(node, 'projects/a', [{ op: 'add', path: '/last', value: true }]);
    await receiver.until(() => receiver.seqsOf('projects/a').has(11), 'seq 11');
    expect(receiver.messages.some((m) => m.body.data.docId === 'other/z')).toBe(false);
  }, 90_000);

  it('two nodes on one Redis deliver each change once, and the other node takes over when the one delivering dies', async () => {
    const { dir, config, receiver } = await setup();
    const url = redis().url;
    const nodes = [
      await serve(['--config', config, '--redis', url], dir),
      await serve(['--config', config, '--redis', url], dir),
    ];
    const heads = new Map<string, number>();
    const write = async (node: ServeProcess, docId: string, i: number) => {
      heads.set(docId, await patch(node, docId, [{ op: 'add', path: `/k${i}`, value: i }]));
    };
    for (let i = 0; i < 12; i++) await write(nodes[i % 2]!, `projects/${i % 3}`, i);
    const done = () => [...heads].every(([docId, head]) => receiver.seqsOf(docId).size === head);
    await receiver.until(done, 'every change of both nodes');
    for (const [docId, head] of heads) expect(assertDelivered(receiver, docId, head)).toBe(0);
    // Exactly one node delivers: each message once.
    expect(new Set(receiver.messages.map((m) => m.id)).size).toBe(receiver.messages.length);

    const status = await runCli(['webhooks', 'status', '--redis', url], { cwd: dir });
    const { node: holder } = JSON.parse(status.stdout) as { node: string };
    const delivering = nodes.find(
      (node) => node.child.pid !== undefined && holder.endsWith(`-${node.child.pid}`),
    );
    expect(delivering).toBeDefined();
    const other = nodes.find((node) => node !== delivering)!;
    await delivering!.stop('SIGKILL');
    for (let i = 12; i < 18; i++) await write(other, `projects/${i % 3}`, i);
    await receiver.until(done, 'every change after the takeover');
    for (const [docId, head] of heads) assertDelivered(receiver, docId, head);
  }, 90_000);
});
