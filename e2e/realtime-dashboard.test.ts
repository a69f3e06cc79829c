/**
 * examples/realtime-dashboard in real Chromium — also the browser test of @ystate/react: the
 * metrics service writes over HTTP (@ystate/client) while two windows render the document with
 * the hooks. The charts follow the service live; the windows see each other (presence); what both
 * write at the same moment (annotations, thresholds) converges on both and on the server.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryUpdateLog } from '@ystate/core';
import { DOC_ID, PAGE_DIR, type RunningDashboard, startDashboard } from '@ystate/example-realtime-dashboard';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';

let dashboard: RunningDashboard;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const pageErrors: Error[] = [];

beforeAll(async () => {
  if (!existsSync(join(PAGE_DIR, 'index.html'))) {
    throw new Error('the dashboard page is not built: run `npm run build` (turbo builds examples too)');
  }
  dashboard = await startDashboard({
    port: 0,
    log: new MemoryUpdateLog(),
    logger: pino({ level: 'silent' }),
    intervalMs: 100,
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
}, 60_000);

async function open(name: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${dashboard.url}?name=${name}`);
  await page.waitForSelector('[data-testid="status"]:text("connected")');
  return page;
}

async function serverState(pointer: string): Promise<unknown> {
  const url = `${dashboard.url}api/docs/${encodeURIComponent(DOC_ID)}/state?path=${encodeURIComponent(pointer)}`;
  return (await fetch(url)).json();
}

function pointsOf(page: Page, metric: string): Promise<number> {
  return page.$eval(`[data-metric="${metric}"]`, (section) => Number(section.getAttribute('data-points')));
}

describe('examples/realtime-dashboard', { timeout: 120_000 }, () => {
  it('charts follow the service live; two windows see each other and converge on what both write', async () => {
    const [alice, bob] = [await open('Alice'), await open('Bob')];
    await alice.waitForSelector('[data-testid="viewers"] :text("Bob")');
    await bob.waitForSelector('[data-testid="viewers"] :text("Alice")');

    // Live: the chart gains points as the service writes, without a reload.
    const before = await pointsOf(alice, 'cpu');
    await alice.waitForFunction(
      (n) => Number(document.querySelector('[data-metric="cpu"]')?.getAttribute('data-points')) > n + 2,
      before,
    );

    // Both windows write at the same moment: an annotation each, a threshold each on another chart.
    await Promise.all([
      (async () => {
        await alice.fill('[data-testid="annotation"]', 'deploy v2');
        await alice.press('[data-testid="annotation"]', 'Enter');
        await alice.fill('[data-testid="threshold-cpu"]', '70');
      })(),
      (async () => {
        await bob.fill('[data-testid="annotation"]', 'cache flushed');
        await bob.press('[data-testid="annotation"]', 'Enter');
        await bob.fill('[data-testid="threshold-latency"]', '250');
      })(),
    ]);
    for (const page of [alice, bob]) {
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="annotations"] li').length === 2,
      );
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-testid="threshold-cpu"]') as HTMLInputElement).value === '70' &&
          (document.querySelector('[data-testid="threshold-latency"]') as HTMLInputElement).value === '250',
      );
    }
    expect(await serverState('/thresholds')).toEqual({ cpu: 70, latency: 250 });
    const annotations = (await serverState('/annotations')) as { text: string; by: string }[];
    expect(annotations.map((a) => `${a.by}: ${a.text}`).sort()).toEqual([
      'Alice: deploy v2',
      'Bob: cache flushed',
    ]);
    expect(
      await alice.$$eval('[data-testid="annotations"] b', (els) => els.map((el) => el.textContent)),
    ).toEqual(await bob.$$eval('[data-testid="annotations"] b', (els) => els.map((el) => el.textContent)));

    // The service stops: both windows settle on exactly the server's last points.
    await dashboard.service.stop();
    const series = (await serverState('/series')) as Record<string, { v: number }[]>;
    for (const page of [alice, bob]) {
      for (const [metric, points] of Object.entries(series)) {
        await page.waitForFunction(
          ([m, n, last]) =>
            document.querySelector(`[data-metric="${m}"]`)?.getAttribute('data-points') === String(n) &&
            document.querySelector(`[data-testid="last-${m}"]`)?.textContent === String(last),
          [metric, points.length, points.at(-1)?.v] as const,
        );
      }
    }
    // A window that leaves is gone from the other's viewers.
    await bob.close();
    await alice.waitForFunction(
      () => !document.querySelector('[data-testid="viewers"]')?.textContent?.includes('Bob'),
    );
    expect(pageErrors).toEqual([]);
  });
});
