/**
 * The demo's history view in real Chromium against a real `ystate serve` on a real Redis: one page
 * names a version, an agent (a service on the same Redis, through the AG-UI bridge) makes a run,
 * the page undoes the run and then restores the named version, while another page keeps typing.
 * Every wait is for a condition on the page or the server.
 */

import { EventType } from '@ag-ui/core';
import { applyAgentEvents } from '@ystate/agui';
import { Engine } from '@ystate/core';
import { createRedisStore, type RedisStore } from '@ystate/redis';
import { type RedisServer, startRedisServer } from '@ystate/redis/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir, waitFor } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';
import { editorValue, openDemo, serverState as readState, screenshot } from './demo-page.js';

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

function serverState(): ReturnType<typeof readState> {
  return readState(server, DOC);
}

async function history(): Promise<{ seq: number; origin: string; kind: string; event?: { name: string } }[]> {
  const response = await fetch(`${server.url}/api/docs/${encodeURIComponent(DOC)}/history`);
  return (await response.json()) as { seq: number; origin: string; kind: string; event?: { name: string } }[];
}

/** Waits until both pages and the server hold the same text, and returns it. */
async function converged(pages: Page[]): Promise<string> {
  return waitFor(async () => {
    const text = (await serverState()).state.text;
    const shown = await Promise.all(pages.map(editorValue));
    return shown.every((value) => value === text) ? (text as string) : undefined;
  }, 'the pages and the server to hold the same text');
}

describe('the demo history view', { timeout: 120_000 }, () => {
  let alice: Page;
  let bob: Page;

  it('names a version and lists it with who named it', async () => {
    [alice, bob] = await Promise.all([
      openDemo(context, server, DOC, 'Alice', pageErrors),
      openDemo(context, server, DOC, 'Bob', pageErrors),
    ]);
    await alice.locator('#editor').pressSequentially('Hello');
    await waitFor(async () => ((await serverState()).state.text === 'Hello' ? true : undefined), 'Hello');
    await bob.waitForFunction(() => document.querySelector('#state')?.textContent?.includes('Hello'));
    await bob.locator('#version-name').fill('before-agent');
    await bob.locator('#version-name').press('Enter');
    await bob.waitForSelector('#versions button:has-text("before-agent")');
    await expect(bob.locator('#versions li').first().textContent()).resolves.toContain('named by anonymous');
    // The timeline tags the entry the name points at.
    const named = await bob.locator('#versions button:has-text("before-agent")').getAttribute('data-seq');
    await bob.waitForSelector(`#timeline li[data-seq="${named}"] .version-tag:has-text("before-agent")`);
  });

  it("undoes an agent's run from its entry while another page types; the typing stays", async () => {
    const { seq: base, state: before } = await serverState();
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
    // The timeline shows the run's entries under the agent's origin.
    await bob.waitForSelector(`#timeline li[data-kind="update"] .origin:has-text("agui:${RUN}")`);

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
    expect(state).toEqual({ ...before, text: 'Hello and more' });
    expect(state).not.toHaveProperty('plan');
    await bob.waitForSelector('#timeline li[data-kind="lifecycle"] code:has-text("ystate.version.undone")');
    // The slider went back to live.
    await expect(bob.locator('#history-label').textContent()).resolves.toMatch(/^live/);
  });

  it('restores the named version while another page types; what is typed after it stays', async (test) => {
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
    await bob.locator('#versions button:has-text("before-agent")').click();
    await bob.waitForSelector('#entry:not([hidden])');
    await screenshot(bob, 'history', test);
  });
});
