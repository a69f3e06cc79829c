/**
 * Driving the demo page of `ystate serve` in the e2e tests: open it as someone, read the server's
 * view of the document, check the page with axe-core, and keep screenshots as test artifacts.
 */

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { expect, type TestContext } from 'vitest';
import type { ServeProcess } from '../packages/cli/test/cli-process.js';

/** Where screenshots go (CI keeps the directory as the e2e artifacts). */
export const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Opens the page for `docId` on `server` as `name`, and waits until it is connected and editable. */
export async function openDemo(
  context: BrowserContext,
  server: ServeProcess,
  docId: string,
  name: string,
  pageErrors: Error[],
): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${server.url}/?name=${encodeURIComponent(name)}#${encodeURIComponent(docId)}`);
  await page.waitForSelector('#editor:not([disabled])');
  await page.waitForSelector('#status[data-state="connected"]');
  return page;
}

/** The document's JSON and head seq as the server has it (what its log holds). */
export async function serverState(
  server: ServeProcess,
  docId: string,
  token?: string,
): Promise<{ seq: number; state: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(docId)}/state`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const seq = Number.parseInt(response.headers.get('x-ystate-seq') ?? '', 10);
  return { seq, state: (await response.json()) as Record<string, unknown> };
}

/** The textarea's text. */
export function editorValue(page: Page): Promise<string> {
  return page.$eval('#editor', (element) => (element as HTMLTextAreaElement).value);
}

/** Runs axe-core (WCAG 2 A and AA rules) on the page as it is, and returns the serious and critical violations. */
export async function seriousViolations(
  page: Page,
): Promise<{ id: string; impact: string; targets: string[] }[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (context: Document, options: object) => Promise<AxeResults> } }
    ).axe;
    interface AxeResults {
      violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
    }
    const results = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? 'unknown',
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Saves a full-page screenshot under ARTIFACTS, logs its path and attaches it to the test's report. */
export async function screenshot(page: Page, name: string, test: TestContext): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  await test.annotate(`screenshot ${name}`, { path, contentType: 'image/png' });
  return path;
}
