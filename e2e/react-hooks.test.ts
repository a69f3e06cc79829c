/**
 * @ystate/react in real Chromium, with React 18 (examples/offline-todos; the dashboard and
 * CopilotKit e2e tests run React 19): two pages using the hooks edit one document, and their
 * values and presence converge; with y-indexeddb turned on, what a page writes while the server is
 * down survives a reload and reaches the server (and the other page) once it is back.
 */

import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Engine, MemoryUpdateLog } from '@ystate/core';
import { DOC_ID, PAGE_DIR, type RunningTodosServer, startTodosServer } from '@ystate/example-offline-todos';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';

const engine = new Engine({ log: new MemoryUpdateLog(), nodeId: 'e2e', idleTimeoutMs: 60_000 });
let ystate: RunningTodosServer;
let pages: Server;
let pagesUrl: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const pageErrors: Error[] = [];

/** Serves the built page from its own origin, so that it loads while the ystate server is down. */
async function servePages(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (!/^(index\.html|assets\/[\w.-]+\.js)$/.test(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
    createReadStream(join(PAGE_DIR, file)).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  await access(join(PAGE_DIR, 'index.html')).catch(() => {
    throw new Error('the offline-todos page is not built: run `npm run build` (turbo builds examples too)');
  });
  ystate = await startTodosServer({ port: 0, engine, logger: pino({ level: 'silent' }) });
  pages = await servePages();
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ystate?.close();
  pages?.close();
  await engine.close();
}, 60_000);

async function open(name: string, page?: Page): Promise<Page> {
  const opened = page ?? (await browser.context.newPage());
  if (page === undefined) opened.on('pageerror', (error) => pageErrors.push(error));
  await opened.goto(`${pagesUrl}?name=${name}&server=ws://127.0.0.1:${ystate.port}`);
  return opened;
}

async function add(page: Page, text: string): Promise<void> {
  await page.fill('[data-testid="new-todo"]', text);
  await page.press('[data-testid="new-todo"]', 'Enter');
}

function todos(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="todos"] li', (items) => items.map((item) => item.textContent ?? ''));
}

async function waitForTodos(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction(
    (want) =>
      JSON.stringify(
        Array.from(document.querySelectorAll('[data-testid="todos"] li'), (li) => li.textContent),
      ) === JSON.stringify(want),
    expected,
  );
}

describe('@ystate/react in Chromium (React 18)', { timeout: 120_000 }, () => {
  it('two pages edit one document: values and presence converge', async () => {
    const [alice, bob] = [await open('Alice'), await open('Bob')];
    expect(await alice.textContent('[data-testid="react"]')).toMatch(/^React 18\./);
    await alice.waitForSelector('[data-testid="others"]:text("Bob")');
    await bob.waitForSelector('[data-testid="others"]:text("Alice")');
    await Promise.all([add(alice, 'a1'), add(bob, 'b1')]);
    await Promise.all([add(alice, 'a2'), add(bob, 'b2')]);
    await alice.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 4);
    await waitForTodos(bob, await todos(alice));
    expect([...(await todos(alice))].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    const doc = await engine.open(DOC_ID);
    try {
      await expect.poll(() => doc.get('/todos')).toEqual(await todos(alice));
    } finally {
      engine.release(DOC_ID);
    }
    await bob.close();
    await alice.waitForSelector('[data-testid="others"]:text("nobody")');
    await alice.close();
  });

  it('with y-indexeddb, edits made while the server is down survive a reload and reach it once it is back', async () => {
    const alice = await open('Alice');
    await alice.waitForSelector('[data-testid="status"]:text("connected")');
    const before = await todos(alice);
    await add(alice, 'while online');
    await waitForTodos(alice, [...before, 'while online']);
    const port = ystate.port;
    await ystate.close();
    await alice.waitForFunction(
      () => document.querySelector('[data-testid="status"]')?.textContent !== 'connected',
    );
    await add(alice, 'while offline');
    await waitForTodos(alice, [...before, 'while online', 'while offline']);

    // A reload while the server is still down: the page has what it had, from IndexedDB.
    await open('Alice', alice);
    await waitForTodos(alice, [...before, 'while online', 'while offline']);
    expect(await alice.textContent('[data-testid="status"]')).not.toBe('connected');

    // The server is back (same port, same log): the offline edit reaches it and another page.
    ystate = await startTodosServer({ port, engine, logger: pino({ level: 'silent' }) });
    await alice.waitForSelector('[data-testid="status"]:text("connected")');
    const bob = await open('Bob');
    await waitForTodos(bob, [...before, 'while online', 'while offline']);
    const response = await fetch(`${ystate.url}api/docs/${encodeURIComponent(DOC_ID)}/state?path=/todos`);
    expect(await response.json()).toEqual([...before, 'while online', 'while offline']);
    expect(pageErrors).toEqual([]);
  });
});
