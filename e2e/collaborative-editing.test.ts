/**
 * The rich-text editor of examples/collaborative-editing (ProseMirror + y-prosemirror over the
 * stock y-websocket provider, bundled with vite) in real Chromium against a real `ystate serve`:
 * text typed in one window reaches the other window, GET /state, /history, the page's history
 * slider and the demo page `ystate serve` serves (its live JSON and its history slider); an agent's JSON Patch into a paragraph appears in both editors. Every wait is for a
 * condition on a page or on the server.
 */

import { startPage } from '@ystate/example-collaborative-editing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir, waitFor } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';

const DOC = 'e2e/minutes';

let server: ServeProcess;
let page: { url: string; close: () => Promise<void> };
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let removeCwd: () => Promise<void>;
const pageErrors: Error[] = [];

beforeAll(async () => {
  assertBuilt();
  const cwd = await tempDir('ystate-e2e-rich-');
  removeCwd = cwd.remove;
  server = await ServeProcess.start(['--port', '0'], { cwd: cwd.path });
  page = await startPage({ ystateUrl: server.url, outDir: `${cwd.path}/page` });
  browser = await launchBrowser();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await server?.stop();
  await removeCwd?.();
}, 60_000);

async function openEditor(): Promise<Page> {
  const tab = await context.newPage();
  tab.on('pageerror', (error) => pageErrors.push(error));
  await tab.goto(`${page.url}/#${encodeURIComponent(DOC)}`);
  await tab.waitForSelector('#status[data-state="connected"]');
  await tab.waitForSelector('.ProseMirror');
  return tab;
}

interface RichText {
  $roots?: { prosemirror?: { content?: { type: string; content?: { text: string }[] }[] } };
}

/** The text of each top-level block, from the JSON form. */
function blocks(json: RichText): string[] {
  return (json.$roots?.prosemirror?.content ?? []).map((block) =>
    (block.content ?? []).map((node) => node.text).join(''),
  );
}

/**
 * Moves a page's history slider (`#history`) to `seq`, waits until the view `shown` (the element
 * holding the JSON at the slider's seq) says it shows that seq, and returns its blocks.
 */
async function blocksAt(tab: Page, shown: string, seq: number): Promise<string[]> {
  await tab.locator('#history').fill(String(seq));
  await tab.waitForFunction(
    ({ selector, at }) => (document.querySelector(selector) as HTMLElement).dataset.seq === String(at),
    { selector: shown, at: seq },
  );
  return blocks(JSON.parse((await tab.locator(shown).textContent()) ?? 'null') as RichText);
}

async function serverJson(): Promise<RichText> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as RichText;
}

describe('a ProseMirror editor page on ystate serve', { timeout: 120_000 }, () => {
  let alice: Page;
  let bob: Page;

  it('shows what one window types in the other, in GET /state, in /history, on the history slider and in the demo', async () => {
    [alice, bob] = await Promise.all([openEditor(), openEditor()]);
    await alice.locator('.ProseMirror').click();
    await alice.keyboard.type('Minutes of Monday');
    // The seq at which the server holds the first line alone: a point for the history slider.
    const earlier = await waitFor(async () => {
      const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/state`);
      const state = (await response.json()) as RichText;
      return blocks(state).join('|') === 'Minutes of Monday'
        ? Number(response.headers.get('x-ystate-seq'))
        : undefined;
    }, 'the first line in GET /state');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('We ship on Friday.');

    await bob.waitForFunction(() => document.querySelector('.ProseMirror')?.textContent?.includes('Friday.'));
    const json = await waitFor(async () => {
      const state = await serverJson();
      return blocks(state).join('|') === 'Minutes of Monday|We ship on Friday.' ? state : undefined;
    }, 'the typed text in GET /state');
    expect(json.$roots?.prosemirror?.content?.map((block) => block.type)).toEqual(['paragraph', 'paragraph']);
    // The page's JSON view (the SSE stream applied with fast-json-patch) equals the server's.
    await bob.waitForFunction(() =>
      document.querySelector('#json')?.textContent?.includes('We ship on Friday.'),
    );
    expect(JSON.parse((await bob.locator('#json').textContent()) ?? 'null')).toEqual(json);

    const history = (await (
      await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/history`)
    ).json()) as { seq: number; patch: { path: string }[] }[];
    expect(history.some((entry) => entry.patch.some((op) => op.path.startsWith('/$roots/prosemirror')))).toBe(
      true,
    );
    const head = history[history.length - 1]?.seq ?? 0;

    // The slider: back at that seq it shows the first line alone; at the head, both.
    await alice.waitForFunction(
      (seq) => (document.querySelector('#history') as HTMLInputElement).max === String(seq),
      head,
    );
    expect(await blocksAt(alice, '#history-json', earlier)).toEqual(['Minutes of Monday']);
    expect(await blocksAt(alice, '#history-json', head)).toEqual(['Minutes of Monday', 'We ship on Friday.']);

    // The demo page that `ystate serve` itself serves shows the same document: its live JSON, and
    // its history slider back at the first line.
    const demo = await context.newPage();
    demo.on('pageerror', (error) => pageErrors.push(error));
    await demo.goto(`${server.url}/#${encodeURIComponent(DOC)}`);
    await demo.waitForFunction(() =>
      document.querySelector('#state')?.textContent?.includes('We ship on Friday.'),
    );
    expect(blocks(JSON.parse((await demo.locator('#state').textContent()) ?? 'null'))).toEqual(blocks(json));
    await demo.waitForFunction(
      (seq) => Number((document.querySelector('#history') as HTMLInputElement).max) >= seq,
      head,
    );
    expect(await blocksAt(demo, '#history-state', earlier)).toEqual(['Minutes of Monday']);
    await demo.close();
  });

  it('an agent’s patch into a paragraph appears in both editors while a person keeps typing', async () => {
    const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/state`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([
        {
          op: 'replace',
          path: '/$roots/prosemirror/content/1/content/0/text',
          value: 'We ship on Thursday.',
        },
        {
          op: 'add',
          path: '/$roots/prosemirror/content/-',
          value: { type: 'paragraph', content: [{ type: 'text', text: 'Agent: release notes drafted.' }] },
        },
      ]),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    await bob.locator('.ProseMirror p').first().click();
    await bob.keyboard.press('End');
    await bob.keyboard.type(' (draft)');
    for (const tab of [alice, bob]) {
      await tab.waitForFunction(() => {
        const text = document.querySelector('.ProseMirror')?.textContent ?? '';
        return (
          text.includes('Thursday.') && text.includes('release notes drafted.') && text.includes('(draft)')
        );
      });
    }
    const json = await waitFor(async () => {
      const state = await serverJson();
      return blocks(state).join('|').includes('(draft)') ? state : undefined;
    }, 'every edit in GET /state');
    expect(blocks(json)).toEqual([
      'Minutes of Monday (draft)',
      'We ship on Thursday.',
      'Agent: release notes drafted.',
    ]);
    expect(pageErrors).toEqual([]);
  });
});
