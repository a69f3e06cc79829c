/**
 * The demo page in real Chromium against two real `ystate serve` processes that share one real
 * Redis: what one person types shows up for the other, a reload restores the text, and the
 * history slider shows an earlier state. Every wait is for a condition on the page or the server.
 */

import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedisServer } from '@ystate/redis/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';

const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));
const DOC = 'e2e/shared-notes';

let redis: RedisServer;
let servers: ServeProcess[] = [];
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let removeCwd: () => Promise<void>;
/** Uncaught errors on any page: the last test requires none. */
const pageErrors: Error[] = [];

beforeAll(async () => {
  assertBuilt();
  redis = await startRedisServer();
  const cwd = await tempDir('ystate-e2e-');
  removeCwd = cwd.remove;
  servers = await Promise.all(
    [0, 1].map(() => ServeProcess.start(['--port', '0', '--redis', redis.url], { cwd: cwd.path })),
  );
  browser = await launchBrowser();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((server) => server.stop()));
  await redis?.stop();
  await removeCwd?.();
}, 60_000);

/** Opens the demo page for `DOC` on `server` and waits until its editor is bound to the document. */
async function openDemo(server: ServeProcess): Promise<Page> {
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

async function waitForEditor(page: Page, expected: string): Promise<void> {
  await page.waitForFunction(
    (text) => (document.querySelector('#editor') as HTMLTextAreaElement).value === text,
    expected,
  );
}

/** The document's state and head seq as the server has it (the log's view). */
async function serverState(server: ServeProcess): Promise<{ seq: number; state: { text?: string } }> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/state`);
  expect(response.status).toBe(200);
  const seq = Number.parseInt(response.headers.get('x-ystate-seq') ?? '', 10);
  return { seq, state: (await response.json()) as { text?: string } };
}

describe('the demo page on two servers sharing Redis', { timeout: 120_000 }, () => {
  let alice: Page;
  let bob: Page;
  /** The head seq at which the text was exactly 'Hello from Alice.' */
  let earlierSeq: number;

  it('shows what one page types in the other', async () => {
    [alice, bob] = await Promise.all([openDemo(servers[0]!), openDemo(servers[1]!)]);

    await alice.locator('#editor').pressSequentially('Hello from Alice.');
    await waitForEditor(bob, 'Hello from Alice.');
    // The live JSON view follows too.
    await bob.waitForFunction(() =>
      document.querySelector('#state')?.textContent?.includes('Hello from Alice.'),
    );

    // Durable on Bob's server (it applies only what the log holds): remember that point in history.
    const before = await pollUntil(
      () => serverState(servers[1]!),
      (s) => s.state.text === 'Hello from Alice.',
    );
    earlierSeq = before.seq;
    expect(earlierSeq).toBeGreaterThan(0);

    // Bob appends at the end.
    await bob.locator('#editor').focus();
    await bob.keyboard.press('End');
    await bob.keyboard.type(' Hi Alice, Bob here.');
    await waitForEditor(alice, 'Hello from Alice. Hi Alice, Bob here.');
  });

  it('merges concurrent typing at both ends of the text', async () => {
    await alice.locator('#editor').focus();
    await alice.keyboard.press('Control+Home');
    await bob.locator('#editor').focus();
    await bob.keyboard.press('Control+End');
    // Both type at once, each keystroke a separate update racing the other's.
    await Promise.all([alice.keyboard.type('[A] '), bob.keyboard.type(' [B]')]);
    const expected = '[A] Hello from Alice. Hi Alice, Bob here. [B]';
    await waitForEditor(alice, expected);
    await waitForEditor(bob, expected);
  });

  it('restores the text after a reload', async () => {
    const expected = await editorValue(alice);
    await bob.reload();
    await bob.waitForSelector('#editor:not([disabled])');
    expect(await editorValue(bob)).toBe(expected);
  });

  it('shows an earlier state on the history slider', async () => {
    // The slider learns the head from the server; wait until it is past the remembered point.
    await alice.waitForFunction(
      (seq) => Number((document.querySelector('#history') as HTMLInputElement).max) > seq,
      earlierSeq,
    );
    await alice.locator('#history').fill(String(earlierSeq));
    await alice.waitForFunction((seq) => {
      const view = document.querySelector('#history-state') as HTMLElement;
      return !view.hidden && view.dataset.seq === String(seq);
    }, earlierSeq);
    const shown = JSON.parse((await alice.locator('#history-state').textContent()) ?? 'null') as {
      text?: string;
    };
    expect(shown.text).toBe('Hello from Alice.');
    await expect(alice.locator('#history-label').textContent()).resolves.toBe(
      `seq ${earlierSeq} of ${await alice.locator('#history').getAttribute('max')}`,
    );
    // Looking at history leaves the live text alone.
    expect(await editorValue(alice)).toBe('[A] Hello from Alice. Hi Alice, Bob here. [B]');

    expect(pageErrors).toEqual([]);
    await mkdir(ARTIFACTS, { recursive: true });
    await alice.screenshot({ path: `${ARTIFACTS}demo.png`, fullPage: true });
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
