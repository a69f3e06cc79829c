/**
 * The demo page against a real `ystate serve --auth-secret`, in real Chromium: without a token it
 * says so (and how to get one) instead of "connecting…" forever; a token for another document is
 * told apart; a token from `ystate token`, pasted into the page, opens the document for the editor,
 * the event stream and the patch console alike.
 */

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, ServeProcess, tempDir, waitFor } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';
import { screenshot, seriousViolations, serverState } from './demo-page.js';

const DOC = 'e2e/private';
const SECRET = 'the secret of the demo auth test';

let server: ServeProcess;
let cwd: { path: string; remove: () => Promise<void> };
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
const pageErrors: Error[] = [];

beforeAll(async () => {
  assertBuilt();
  cwd = await tempDir('ystate-e2e-auth-');
  server = await ServeProcess.start(['--port', '0', '--auth-secret', SECRET], { cwd: cwd.path });
  browser = await launchBrowser();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await cwd?.remove();
}, 60_000);

/** A token from `ystate token` granting `grant`. */
async function mint(grant: string): Promise<string> {
  const result = await runCli(['token', '--secret', SECRET, '--grant', grant], { cwd: cwd.path });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

/** Pastes `token` into the notice; the page reloads with it. */
async function pasteToken(page: Page, token: string): Promise<void> {
  await page.locator('#token-input').fill(token);
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('token') === token),
    page.locator('#token-input').press('Enter'),
  ]);
}

describe('the demo page on a server that requires a token', { timeout: 120_000 }, () => {
  let page: Page;

  it('says that a token is needed and how to get one, and stops reconnecting', async (test) => {
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error));
    await page.goto(`${server.url}/#${encodeURIComponent(DOC)}`);
    await page.waitForSelector('#access:not([hidden])');
    await page.waitForSelector('#status[data-state="refused"]');
    await expect(page.locator('#access-title').textContent()).resolves.toBe('This server needs a token');
    await expect(page.locator('#access-reason').textContent()).resolves.toContain('no token');
    await expect(page.locator('#access-command').textContent()).resolves.toBe(
      `ystate token --secret "$SECRET" --grant '${DOC}:write'`,
    );
    expect(await page.locator('#access-link').getAttribute('href')).toMatch(/^https:\/\//);
    expect(await page.locator('#editor').isDisabled()).toBe(true);
    // Retrying with the same (missing) token would be refused again: the page stopped.
    const retrying = await page.evaluate(
      () =>
        (window as unknown as { ystateDemo: { provider: { shouldConnect: boolean } } }).ystateDemo.provider
          .shouldConnect,
    );
    expect(retrying).toBe(false);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'demo-auth', test);
  });

  it('tells a token for another document apart', async () => {
    await pasteToken(page, await mint('other/*:write'));
    await page.waitForSelector('#access:not([hidden])');
    await expect(page.locator('#access-title').textContent()).resolves.toBe(
      'This token cannot open this document',
    );
    await expect(page.locator('#access-reason').textContent()).resolves.toContain(`"${DOC}"`);
  });

  it('opens the document with a pasted token: editor, event stream and patch console', async () => {
    const token = await mint('e2e/**:write');
    await pasteToken(page, token);
    await page.waitForSelector('#status[data-state="connected"]');
    await page.waitForSelector('#editor:not([disabled])');
    expect(await page.locator('#access').isHidden()).toBe(true);

    await page.locator('#editor').pressSequentially('for token holders');
    await waitFor(
      async () =>
        (await serverState(server, DOC, token)).state.text === 'for token holders' ? true : undefined,
      'the text on the server',
    );
    // The event stream (EventSource, token in the query) follows too.
    await page.waitForFunction(() =>
      document.querySelector('#state')?.textContent?.includes('for token holders'),
    );

    // The console's curl names the header without printing the token; Apply sends it.
    await expect(page.locator('#patch-curl').textContent()).resolves.toContain(
      '-H "Authorization: Bearer $TOKEN"',
    );
    expect(await page.locator('#patch-curl').textContent()).not.toContain(token);
    await page.locator('#patch-apply').click();
    await page.waitForSelector('#patch-result[data-state="applied"]');
    await page.waitForSelector('#timeline li[data-seq]');
    expect(pageErrors).toEqual([]);
  });
});
