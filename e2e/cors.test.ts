/**
 * CORS in real Chromium: a page served from another origin (127.0.0.1, another port) uses
 * @ystate/client (its built ESM, loaded by the page) against a real `ystate serve --cors-origin`
 * with auth. From the allowed origin, preflighted requests (PATCH with If-Match and Authorization,
 * an event stream with Last-Event-ID) work and the page reads X-Ystate-Seq; from a refused origin
 * the browser blocks every call and nothing changes on the server.
 */

import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';

const CLIENT_DIST = fileURLToPath(new URL('../packages/client/dist/', import.meta.url));
const SECRET = 'an-e2e-secret-of-reasonable-length';
const DOC = 'e2e/cors';

const PAGE = `<!doctype html><meta charset="utf-8"><title>cors</title>
<script type="module">
  import * as ystate from '/client/index.js';
  window.ystate = ystate;
  document.title = 'ready';
</script>`;

/** Serves the page and the client's built modules on 127.0.0.1, port 0. */
async function pageServer(): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const file = /^\/client\/([a-z-]+\.js)$/.exec(path)?.[1];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    createReadStream(`${CLIENT_DIST}${file}`).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let serve: ServeProcess;
let allowed: { origin: string; server: Server };
let refused: { origin: string; server: Server };
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let removeCwd: () => Promise<void>;
let token: string;

beforeAll(async () => {
  assertBuilt();
  allowed = await pageServer();
  refused = await pageServer();
  const cwd = await tempDir('ystate-e2e-cors-');
  removeCwd = cwd.remove;
  serve = await ServeProcess.start(
    ['--port', '0', '--auth-secret', SECRET, '--cors-origin', `http://other.example,${allowed.origin}`],
    { cwd: cwd.path },
  );
  token = await new SignJWT({ ystate: { docs: { 'e2e/*': 'write' } } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('page')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
  browser = await launchBrowser();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  for (const page of [allowed, refused]) page?.server.close();
  await removeCwd?.();
}, 60_000);

async function openPage(origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.title === 'ready');
  return page;
}

/** Preflights the server answered so far, by status (from its metrics). */
async function preflights(): Promise<Record<string, number>> {
  const text = await (await fetch(`${serve.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/ystate_http_requests_total\{([^}]*)\} (\d+)/g)) {
    const labels = match[1] ?? '';
    if (!labels.includes('route="preflight"')) continue;
    const status = /status="(\d+)"/.exec(labels)?.[1] ?? '?';
    counts[status] = (counts[status] ?? 0) + Number(match[2]);
  }
  return counts;
}

async function serverState(): Promise<unknown> {
  const response = await fetch(`${serve.url}/api/docs/${encodeURIComponent(DOC)}/state`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status === 200 ? response.json() : response.status;
}

describe('CORS from a page on another origin', { timeout: 120_000 }, () => {
  it('an allowed origin writes, reads the seq and follows the document (preflights answered)', async () => {
    const page = await openPage(allowed.origin);
    const result = await page.evaluate(
      async ({ url, token, doc }) => {
        type Client = {
          patch(docId: string, ops: unknown[]): Promise<{ seq: number }>;
          get(docId: string): Promise<{ value: unknown; seq: number }>;
          subscribe(docId: string, options: object): { close(): void };
        };
        const { createClient } = (window as unknown as { ystate: { createClient(o: object): Client } })
          .ystate;
        const client = createClient({ url, token: () => token });
        const first = await client.patch(doc, [{ op: 'add', path: '/items', value: ['from the page'] }]);
        const read = await client.get(doc);
        // A second patch carries If-Match (the seq just read): a header only a preflight allows.
        const second = await client.patch(doc, [{ op: 'add', path: '/items/-', value: 'again' }]);
        const values: unknown[] = [];
        let changed = () => {};
        const firstChange = new Promise<void>((resolve) => {
          changed = resolve;
        });
        const subscription = client.subscribe(doc, {
          resume: { seq: first.seq, value: { items: ['from the page'] } },
          onChange: (change: { value: unknown }) => {
            values.push(change.value);
            changed();
          },
        });
        await firstChange;
        subscription.close();
        return { first: first.seq, read, second: second.seq, values };
      },
      { url: serve.url, token, doc: DOC },
    );
    expect(result.read).toEqual({ value: { items: ['from the page'] }, seq: result.first });
    expect(result.second).toBeGreaterThan(result.first);
    // Resumed with Last-Event-ID from the first seq: the page got the change it had not seen.
    expect(result.values).toEqual([{ items: ['from the page', 'again'] }]);
    expect(await serverState()).toEqual({ items: ['from the page', 'again'] });
    expect((await preflights())['204']).toBeGreaterThan(0);
    await page.close();
  });

  it('a refused origin is blocked by the browser (NETWORK_ERROR), and the document does not change', async () => {
    const before = await serverState();
    const refusedBefore = (await preflights())['403'] ?? 0;
    const page = await openPage(refused.origin);
    const codes = await page.evaluate(
      async ({ url, token, doc }) => {
        type Client = {
          patch(docId: string, ops: unknown[]): Promise<unknown>;
          get(docId: string): Promise<unknown>;
        };
        const { createClient } = (window as unknown as { ystate: { createClient(o: object): Client } })
          .ystate;
        const client = createClient({ url, token });
        const codeOf = (promise: Promise<unknown>) =>
          promise.then(
            () => 'ok',
            (error: { code?: string }) => error.code ?? String(error),
          );
        return [
          await codeOf(client.patch(doc, [{ op: 'add', path: '/evil', value: true }])),
          await codeOf(client.get(doc)),
          await codeOf(fetch(`${url}/api/docs/${encodeURIComponent(doc)}/state`).then((r) => r.json())),
        ];
      },
      { url: serve.url, token, doc: DOC },
    );
    expect(codes.slice(0, 2)).toEqual(['NETWORK_ERROR', 'NETWORK_ERROR']);
    expect(codes[2]).toMatch(/TypeError|Failed to fetch/);
    expect(await serverState()).toEqual(before);
    expect((await preflights())['403']).toBeGreaterThan(refusedBefore);
    await page.close();
  });
});
