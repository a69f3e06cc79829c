/**
 * The demo's history view in real Chromium against a real `ystate serve` on a real Redis: one page
 * names a version, an agent (a service on the same Redis, through the AG-UI bridge) makes a run,
 * the page undoes the run and then restores the named version, while another page keeps typing.
 * Every wait is for a condition on the page or the server.
 */

import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { EventType } from '@ag-ui/core';
import { applyAgentEvents } from '@ystate/agui';
import { Engine } from '@ystate/core';
import { createRedisStore, type RedisStore } from '@ystate/redis';
import { type RedisServer, startRedisServer } from '@ystate/redis/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';

const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));
const DOC = 'e2e/history';
const RUN = 'agent-run-1';

let redis: RedisServer;
let server: ServeProcess;
let store: RedisStore;
let agentEngine: Engine;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let removeCwd: () => Promise<void>;
const pageErrors: Error[] = [];

beforeAll(async () => {
  assertBuilt();
  redis = await startRedisServer();
  const cwd = await tempDir('ystate-e2e-history-');
  removeCwd = cwd.remove;
  server = await ServeProcess.start(['--port', '0', '--redis', redis.url], { cwd: cwd.path });
  store = createRedisStore({ redis: redis.url });
  agentEngine = new Engine({ log: store.log, bus: store.bus, nodeId: 'agent-service' });
  browser = await launchBrowser();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agentEngine?.close();
  await store?.close();
  await server?.stop();
  await redis?.stop();
  await removeCwd?.();
}, 60_000);

async function openDemo(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${server.url}/#${encodeURIComponent(DOC)}`);
  await page.waitForSelector('#editor:not([disabled])');
  await page.waitForSelector('#status[data-state="connected"]');
  return page;
}

function editorValue(page: Page): Promise<string> {
  return page.$eval('#editor', (element) => (element as HTMLTextAreaElement).value);
}

async function serverState(): Promise<{ seq: number; state: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/state`);
  expect(response.status).toBe(200);
  const seq = Number.parseInt(response.headers.get('x-ystate-seq') ?? '', 10);
  return { seq, state: (await response.json()) as Record<string, unknown> };
}

async function history(): Promise<{ seq: number; origin: string; kind: string; event?: { name: string } }[]> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/history`);
  return (await response.json()) as { seq: number; origin: string; kind: string; event?: { name: string } }[];
}

/** Waits until both pages and the server hold the same text, and returns it. */
async function converged(pages: Page[]): Promise<string> {
  const result = await pollUntil(
    async () => ({
      server: (await serverState()).state.text,
      pages: await Promise.all(pages.map(editorValue)),
    }),
    (now) => now.pages.every((text) => text === now.server),
  );
  return result.server as string;
}

describe('the demo history view', { timeout: 120_000 }, () => {
  let alice: Page;
  let bob: Page;

  it('names a version and lists it with who named it', async () => {
    [alice, bob] = await Promise.all([openDemo(), openDemo()]);
    await alice.locator('#editor').pressSequentially('Hello');
    await pollUntil(serverState, (s) => s.state.text === 'Hello');
    await bob.waitForFunction(() => document.querySelector('#state')?.textContent?.includes('Hello'));
    await bob.locator('#version-name').fill('before-agent');
    await bob.locator('#version-name').press('Enter');
    await bob.waitForSelector('#versions button:has-text("before-agent")');
    await expect(bob.locator('#versions li').first().textContent()).resolves.toContain('named by anonymous');
  });

  it("undoes an agent's run from its entry while another page types; the typing stays", async () => {
    const { seq: base } = await serverState();
    await applyAgentEvents(
      agentEngine,
      DOC,
      [
        { type: EventType.RUN_STARTED, threadId: 't', runId: RUN },
        { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/plan', value: ['outline', 'draft'] }] },
        { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/summary', value: 'by the agent' }] },
        { type: EventType.RUN_FINISHED, threadId: 't', runId: RUN },
      ],
      { baseSeq: base },
    );
    await bob.waitForFunction(() => document.querySelector('#state')?.textContent?.includes('by the agent'));

    await alice.locator('#editor').focus();
    await alice.keyboard.press('Control+End');
    const typing = alice.keyboard.type(' and more', { delay: 40 });

    const merge = (await history()).find((step) => step.origin === `agui:${RUN}` && step.kind === 'update');
    expect(merge).toBeDefined();
    await bob.waitForFunction(
      (seq) => Number((document.querySelector('#history') as HTMLInputElement).max) >= seq,
      merge!.seq,
    );
    await bob.locator('#history').fill(String(merge!.seq));
    await bob.waitForFunction((seq) => {
      const entry = document.querySelector('#entry') as HTMLElement;
      return !entry.hidden && entry.dataset.seq === String(seq);
    }, merge!.seq);
    await expect(bob.locator('#entry-origin').textContent()).resolves.toBe(`agui:${RUN}`);
    await bob.locator('#undo-run').click();
    await bob.waitForFunction(() => {
      const state = document.querySelector('#state')?.textContent ?? '';
      return !state.includes('by the agent') && !state.includes('outline');
    });
    await typing;
    expect(await converged([alice, bob])).toBe('Hello and more');
    const state = (await serverState()).state;
    expect(state).toEqual({ text: 'Hello and more' });
    // The slider went back to live.
    await expect(bob.locator('#history-label').textContent()).resolves.toMatch(/^live/);
  });

  it('restores the named version while another page types; what is typed after it stays', async () => {
    await alice.locator('#editor').focus();
    await alice.keyboard.press('Control+End');
    const typing = alice.keyboard.type(' !!!', { delay: 60 });
    await bob.locator('#versions button:has-text("before-agent")').click();
    await bob.waitForSelector('#restore:not([hidden])');
    await bob.locator('#restore').click();
    await bob.waitForFunction(() =>
      document.querySelector('#history-hint')?.textContent?.startsWith('Restored'),
    );
    await typing;
    const text = await converged([alice, bob]);
    // The version's text, then whatever Alice typed once the revert had reached her.
    expect(text.startsWith('Hello')).toBe(true);
    expect(' !!!'.endsWith(text.slice('Hello'.length))).toBe(true);
    expect((await history()).some((step) => step.event?.name === 'ystate.version.reverted')).toBe(true);
    expect(pageErrors).toEqual([]);
    await mkdir(ARTIFACTS, { recursive: true });
    await bob.locator('#versions button:has-text("before-agent")').click();
    await bob.waitForSelector('#entry:not([hidden])');
    await bob.screenshot({ path: `${ARTIFACTS}history.png`, fullPage: true });
  });
});

/** Calls `read` until `done` holds for its result (a condition on real state, no fixed sleep). */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
