/**
 * Webhooks against a real HTTP receiver (signatures verified with the `standardwebhooks`
 * library's verifier): every change delivered in order, with its seq range, origins and the JSON
 * Patch of the range; a receiver that fails for a while gets everything once it is back, and the
 * failure shows in /metrics and in the store's status meanwhile; large patches become links;
 * debouncing batches; bad subscriptions are refused at start.
 */

import { randomBytes } from 'node:crypto';
import {
  type Json,
  MemoryDeliveryStore,
  MemoryUpdateLog,
  type PatchOperation,
  YStateError,
} from '@ystate/core';
import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { timeAppends, type WebhookOptions } from '../src/index.js';
import { WebhookReceiver } from '../src/testing/index.js';
import { defer, fetchJson, patchState, startServer } from './helpers.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

async function receiverFor(key: string): Promise<WebhookReceiver> {
  const receiver = await WebhookReceiver.start(key);
  defer(() => receiver.close());
  return receiver;
}

async function serverWith(webhooks: Omit<WebhookOptions, 'store'> & { store?: MemoryDeliveryStore }) {
  const store = webhooks.store ?? new MemoryDeliveryStore();
  const started = await startServer({
    log: timeAppends(new MemoryUpdateLog()),
    webhooks: { pollMs: 50, retry: { minMs: 20, maxMs: 200 }, ...webhooks, store },
  });
  return { ...started, store };
}

/** Applies the acknowledged messages' patches of `docId` in order, each once (duplicates by seq skipped). */
function replayPatches(receiver: WebhookReceiver, docId: string): Json {
  let state: Json = {};
  let last = 0;
  for (const { body } of receiver.acknowledged) {
    if (body.data.docId !== docId || body.data.to <= last) continue;
    expect(body.data.from).toBe(last + 1);
    state = fastJsonPatch.applyPatch(state, body.data.patch as PatchOperation[], true, false).newDocument;
    last = body.data.to;
  }
  return state;
}

describe('webhooks', () => {
  it('delivers every change of the matching documents, signed, in order, with origins and the patch', async () => {
    const key = secret();
    const receiver = await receiverFor(key);
    const { http, engine } = await serverWith({
      subscriptions: [{ id: 'projects', url: receiver.url, docs: 'projects/*', secret: key }],
    });
    for (let i = 0; i < 12; i++) {
      const patch = [{ op: 'add', path: `/k${i % 4}`, value: i }];
      expect((await patchState(http, 'projects/42', patch)).status).toBe(200);
    }
    await engine.write('projects/42', (tx) => tx.set('/by', 'agent'), { origin: 'agent-7' });
    await patchState(http, 'other/1', [{ op: 'add', path: '/x', value: 1 }]);
    await patchState(http, 'projects/42/deep', [{ op: 'add', path: '/x', value: 1 }]);
    await receiver.until(() => receiver.seqsOf('projects/42').size === 13, 'seqs 1…13 of projects/42');
    expect(receiver.rejected).toBe(0);
    expect(replayPatches(receiver, 'projects/42')).toEqual(await engine.get('projects/42'));
    const origins = new Set(receiver.acknowledged.flatMap(({ body }) => body.data.origins));
    expect(origins).toEqual(new Set(['anonymous', 'agent-7']));
    for (const { body, id } of receiver.messages) {
      expect(body.type).toBe('document.changed');
      expect(body.data.subscription).toBe('projects');
      expect(id).toMatch(/^msg_/);
    }
    // Only the pattern's documents: `projects/*` is one segment.
    expect(new Set(receiver.messages.map(({ body }) => body.data.docId))).toEqual(new Set(['projects/42']));
  });

  it('retries a failing receiver with backoff, shows the failure, and delivers everything once it answers', async () => {
    const key = secret();
    const receiver = await receiverFor(key);
    receiver.mode = { answer: 'status', status: 503 };
    const { http, store } = await serverWith({
      subscriptions: [{ id: 'all', url: receiver.url, docs: '**', secret: key }],
    });
    await patchState(http, 'a', [{ op: 'add', path: '/n', value: 0 }]);
    await receiver.until(() => receiver.messages.length >= 3, 'three attempts');
    const failing = await store.status('all');
    expect(failing?.failing.a).toMatchObject({ from: 1, error: 'HTTP 503 Service Unavailable' });
    expect(failing?.failing.a?.attempts).toBeGreaterThanOrEqual(1);
    const metrics = String((await fetchJson(`${http}/metrics`)).body);
    expect(metrics).toMatch(/ystate_webhook_failing_documents\{subscription="all"\} 1/);
    expect(metrics).toMatch(/ystate_webhook_deliveries_total\{subscription="all",outcome="failed"\} [1-9]/);
    for (let i = 1; i <= 5; i++) await patchState(http, 'a', [{ op: 'replace', path: '/n', value: i }]);
    // Down for a while, then up again.
    await receiver.down();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await receiver.up();
    receiver.mode = { answer: 'ok' };
    await receiver.until(() => receiver.seqsOf('a').size === 6, 'seqs 1…6 of a');
    expect(replayPatches(receiver, 'a')).toEqual({ n: 5 });
    await expect.poll(async () => (await store.status('all'))?.failing).toEqual({});
    expect(String((await fetchJson(`${http}/metrics`)).body)).toMatch(
      /ystate_webhook_failing_documents\{subscription="all"\} 0/,
    );
    expect((await store.cursors('all')).get('a')).toBe(6);
  });

  it('sends a link to the patch when it is larger than the subscription allows', async () => {
    const key = secret();
    const receiver = await receiverFor(key);
    const { http } = await serverWith({
      subscriptions: [{ id: 'big', url: receiver.url, docs: '**', secret: key, maxPatchBytes: 100 }],
      publicUrl: 'http://placeholder.invalid/',
    });
    const value = 'x'.repeat(500);
    await patchState(http, 'docs/1', [{ op: 'add', path: '/text', value }]);
    await receiver.until(() => receiver.seqsOf('docs/1').has(1), 'seq 1');
    const [message] = receiver.acknowledged;
    expect(message?.body.data.patch).toBeUndefined();
    const link = message?.body.data.patchUrl ?? '';
    expect(link).toBe('http://placeholder.invalid/api/docs/docs%2F1/diff?from=0&to=1');
    const fetched = await fetchJson(link.replace('http://placeholder.invalid', http));
    expect(fetched.body).toEqual({ from: 0, to: 1, patch: [{ op: 'add', path: '/text', value }] });
  });

  it('batches the changes made within the debounce window into one message', async () => {
    const key = secret();
    const receiver = await receiverFor(key);
    const { engine } = await serverWith({
      subscriptions: [{ id: 'slow', url: receiver.url, docs: '**', secret: key, debounceMs: 1500 }],
    });
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        engine.write('d', (tx) => tx.set(`/k${i}`, i), { origin: `w${i}` }),
      ),
    );
    await receiver.until(() => receiver.seqsOf('d').size === 5, 'seqs 1…5');
    expect(receiver.messages).toHaveLength(1);
    expect(receiver.messages[0]?.body.data).toMatchObject({ from: 1, to: 5 });
    expect(receiver.messages[0]?.body.data.origins).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('refuses bad subscriptions with INVALID_CONFIG, never echoing the secret', async () => {
    const store = new MemoryDeliveryStore();
    const bad = [
      [{ id: 'a', url: 'ftp://x', docs: '**', secret: secret() }, 'webhooks.0.url'],
      [{ id: 'a b', url: 'http://x', docs: '**', secret: secret() }, 'webhooks.0.id'],
      [{ id: 'a', url: 'http://x', docs: '**', secret: 'whsec_not base64!' }, 'webhooks.0.secret'],
    ] as const;
    for (const [subscription, where] of bad) {
      const attempt = startServer({ webhooks: { store, subscriptions: [subscription] } });
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(YStateError);
      expect((error as YStateError).code).toBe('INVALID_CONFIG');
      expect((error as YStateError).message).toContain(where);
      expect((error as YStateError).message).not.toContain(subscription.secret);
    }
    const twice = { id: 'a', url: 'http://x', docs: '**', secret: secret() };
    await expect(startServer({ webhooks: { store, subscriptions: [twice, twice] } })).rejects.toThrow(
      /used twice/,
    );
  });
});
