/**
 * examples/copilotkit-shared-state in real Chromium: two people (two pages, @ystate/react) and the
 * scripted agent (run by CopilotKit's `useAgent` through ystate's AG-UI proxy) edit one task list at
 * the same time. The agent is held after it has been given the list and before it writes, while
 * both people add tasks; then it writes against the list it saw. Every edit must be in the final
 * list, once, on both pages and on the server, and CopilotKit's view of the state must agree.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryUpdateLog } from '@ystate/core';
import { DOC_ID, PAGE_DIR, type RunningExample, startExample } from '@ystate/example-copilotkit-shared-state';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';

interface Todo {
  title: string;
  done: boolean;
  by: string;
}

/** A promise and its resolve, to hold the agent until the people have written. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const agentThinking = signal();
const peopleWrote = signal();
let example: RunningExample;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const pageErrors: Error[] = [];
/** Requests a page made anywhere but the example's server (CopilotKit must need no cloud service). */
const elsewhere: string[] = [];

beforeAll(async () => {
  if (!existsSync(join(PAGE_DIR, 'index.html'))) {
    throw new Error('the example page is not built: run `npm run build` (turbo builds examples too)');
  }
  example = await startExample({
    port: 0,
    log: new MemoryUpdateLog(),
    logger: pino({ level: 'silent' }),
    pause: async () => {
      agentThinking.resolve();
      await peopleWrote.promise;
    },
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  peopleWrote.resolve();
  await browser?.close();
  await example?.close();
}, 60_000);

async function open(name: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.host !== new URL(example.url).host && url.protocol !== 'data:') elsewhere.push(request.url());
  });
  await page.goto(`${example.url}?name=${name}`);
  await page.waitForSelector('[data-testid="status"]:text("connected")');
  return page;
}

function titles(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="todos"] .title', (spans) => spans.map((span) => span.textContent ?? ''));
}

async function add(page: Page, title: string): Promise<void> {
  await page.fill('[data-testid="new-todo"]', title);
  await page.press('[data-testid="new-todo"]', 'Enter');
}

async function serverTodos(): Promise<Todo[]> {
  const response = await fetch(`${example.url}api/docs/${encodeURIComponent(DOC_ID)}/state?path=/todos`);
  return (await response.json()) as Todo[];
}

describe('examples/copilotkit-shared-state', { timeout: 120_000 }, () => {
  it('two people and the agent add tasks at once: every one is kept, everywhere', async () => {
    const [alice, bob] = [await open('Alice'), await open('Bob')];
    // Each sees the other here.
    await alice.waitForSelector('[data-testid="peers"] :text("Bob")');
    await bob.waitForSelector('[data-testid="peers"] :text("Alice")');

    await add(alice, 'Write the brief');
    await bob.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 1);

    // Alice asks the agent; it is given the list (one task) and held before it writes.
    await alice.fill('[data-testid="ask"]', 'Book the room, Order lunch');
    await alice.press('[data-testid="ask"]', 'Enter');
    await agentThinking.promise;
    await alice.waitForSelector('[data-testid="agent-status"]:text("working")');

    // Meanwhile both people add tasks, at the same time.
    await Promise.all([add(alice, 'Alice 1'), add(bob, 'Bob 1')]);
    await Promise.all([add(alice, 'Alice 2'), add(bob, 'Bob 2')]);
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 5);
    }
    peopleWrote.resolve();

    // The agent writes "after the first task" (what it saw); nothing anyone wrote is lost.
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 7);
    }
    await alice.waitForSelector('[data-testid="agent-status"]:text("idle")');
    const everyone = [
      'Write the brief',
      'Book the room',
      'Order lunch',
      'Alice 1',
      'Alice 2',
      'Bob 1',
      'Bob 2',
    ];
    const onServer = await serverTodos();
    expect(onServer.map((todo) => todo.title).sort()).toEqual([...everyone].sort());
    // Each writer's items keep their order; the agent's land after the task it saw (concurrent
    // inserts at one place are ordered by Yjs, so people's items may come between).
    const at = (title: string) => onServer.findIndex((todo) => todo.title === title);
    expect(at('Write the brief')).toBe(0);
    for (const [before, after] of [
      ['Book the room', 'Order lunch'],
      ['Alice 1', 'Alice 2'],
      ['Bob 1', 'Bob 2'],
    ] as const) {
      expect(at(before)).toBeLessThan(at(after));
    }
    expect(onServer.filter((todo) => todo.by === 'agent')).toHaveLength(2);
    expect(await titles(alice)).toEqual(onServer.map((todo) => todo.title));
    expect(await titles(bob)).toEqual(onServer.map((todo) => todo.title));
    // CopilotKit got the agent's reply and its state (the document's, through the proxy) agrees.
    expect(await alice.textContent('[data-testid="agent-reply"]')).toBe('Adding 2 todos to the list.');
    expect(await alice.textContent('[data-testid="agent-view"]')).toContain('7 tasks');

    // Both people tick a task at the same moment: both ticks stay.
    await Promise.all([alice.click('li:nth-child(1) input'), bob.click('li:nth-child(2) input')]);
    await alice.waitForFunction(() => document.querySelectorAll('li input:checked').length === 2);
    await bob.waitForFunction(() => document.querySelectorAll('li input:checked').length === 2);
    expect((await serverTodos()).filter((todo) => todo.done)).toHaveLength(2);
    expect(pageErrors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
