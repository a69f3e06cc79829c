/**
 * The demo page in real Chromium against two real `ystate serve` processes that share one real
 * Redis, one page on each: shared text with names and remote cursors, the task board edited by
 * JSON Patch, the patch console (and its curl, run for real), the AG-UI event panel and the live
 * JSON it builds, the history timeline and back to live, an axe-core check, and a phone-sized
 * screen. Every wait is for a condition on the page or the server.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type RedisServer, startRedisServer } from '@ystate/redis/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ServeProcess, tempDir, waitFor } from '../packages/cli/test/cli-process.js';
import { launchBrowser } from './browser.js';
import { editorValue, openDemo, screenshot, seriousViolations, serverState } from './demo-page.js';

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

async function waitForEditor(page: Page, expected: string): Promise<void> {
  await page.waitForFunction(
    (text) => (document.querySelector('#editor') as HTMLTextAreaElement).value === text,
    expected,
  );
}

/** Waits until the server's JSON satisfies `done` and returns it with its seq. */
function serverStateWhen(
  done: (state: Record<string, unknown>) => boolean,
  server = servers[0]!,
): Promise<{ seq: number; state: Record<string, unknown> }> {
  return waitFor(async () => {
    const read = await serverState(server, DOC);
    return done(read.state) ? read : undefined;
  }, 'the server state');
}

interface Task {
  id: string;
  title: string;
  status: string;
}

function tasksOf(state: Record<string, unknown>): Task[] {
  return ((state.board as { tasks?: Task[] } | undefined)?.tasks ?? []) as Task[];
}

/** Waits until the page's board shows a task titled `title` (in the column of `status`, when given). */
async function showsTask(page: Page, title: string, status?: string): Promise<void> {
  const where = status === undefined ? '#board' : `#board .column[data-status="${status}"]`;
  await page.waitForSelector(`${where} .task-title:text-is(${JSON.stringify(title)})`);
}

/** The titles the page's board shows in one column. */
function column(page: Page, status: string): Promise<string[]> {
  return page.$$eval(`#board .column[data-status="${status}"] .task-title`, (nodes) =>
    nodes.map((node) => node.textContent ?? ''),
  );
}

describe('the demo page on two servers sharing Redis', { timeout: 120_000 }, () => {
  let alice: Page;
  let bob: Page;
  /** The head seq at which the text was exactly 'Hello from Alice.' */
  let earlierSeq: number;

  it("shows what one page types in the other, with each other's names and cursors", async () => {
    [alice, bob] = await Promise.all([
      openDemo(context, servers[0]!, DOC, 'Alice', pageErrors),
      openDemo(context, servers[1]!, DOC, 'Bob', pageErrors),
    ]);
    // Presence: each page lists the other by name (awareness crosses servers through Redis).
    await bob.waitForSelector('#peers li[data-name="Alice"]');
    await alice.waitForSelector('#peers li[data-name="Bob"]');
    await expect(bob.locator('#peers li').first().textContent()).resolves.toBe('Bob (you)');

    await alice.locator('#editor').pressSequentially('Hello from Alice.');
    await waitForEditor(bob, 'Hello from Alice.');
    // Alice's caret, with her name, is drawn in Bob's textarea while she is in the text.
    await bob.waitForSelector('#cursors .cursor[data-name="Alice"]');
    await expect(bob.locator('#cursors .cursor[data-name="Alice"]').textContent()).resolves.toBe('Alice');

    // Durable on Bob's server: remember that point in history.
    const before = await serverStateWhen((state) => state.text === 'Hello from Alice.', servers[1]);
    earlierSeq = before.seq;
    expect(earlierSeq).toBeGreaterThan(0);

    await bob.locator('#editor').focus();
    await bob.keyboard.press('End');
    await bob.keyboard.type(' Hi Alice, Bob here.');
    await waitForEditor(alice, 'Hello from Alice. Hi Alice, Bob here.');
    // Bob's caret is drawn where he is: after the text, well right of where a line starts.
    await alice.waitForFunction(() => {
      const caret = document.querySelector<HTMLElement>('#cursors .cursor[data-name="Bob"]');
      return caret !== null && caret.offsetLeft > 150;
    });
  });

  it('merges concurrent typing at both ends of the text', async () => {
    await alice.locator('#editor').focus();
    await alice.keyboard.press('Control+Home');
    await bob.locator('#editor').focus();
    await bob.keyboard.press('Control+End');
    await Promise.all([alice.keyboard.type('[A] '), bob.keyboard.type(' [B]')]);
    const expected = '[A] Hello from Alice. Hi Alice, Bob here. [B]';
    await waitForEditor(alice, expected);
    await waitForEditor(bob, expected);
  });

  it('edits the task board through JSON Patch; both pages and the server agree', async () => {
    // The first page on an empty document wrote the starter board.
    expect(await column(alice, 'todo')).toContain('Add a task with the patch console');

    await alice.locator('#task-title').fill('Write the report');
    await alice.locator('#task-title').press('Enter');
    await showsTask(bob, 'Write the report', 'todo');
    const added = JSON.parse((await alice.locator('#board-patch').textContent()) ?? '[]');
    expect(added).toEqual([
      {
        op: 'add',
        path: '/board/tasks/-',
        value: { id: expect.any(String), title: 'Write the report', status: 'todo' },
      },
    ]);

    // Bob moves it on; the patch names the task's index and tests its id first.
    await bob.getByRole('button', { name: 'Move "Write the report" to Doing' }).click();
    await showsTask(alice, 'Write the report', 'doing');
    const moved = JSON.parse((await bob.locator('#board-patch').textContent()) ?? '[]') as {
      op: string;
      path: string;
      value: unknown;
    }[];
    expect(moved.map((op) => op.op)).toEqual(['test', 'replace']);
    expect(moved[0]).toMatchObject({ value: added[0].value.id });
    const { state } = await serverStateWhen((s) =>
      tasksOf(s).some((task) => task.title === 'Write the report' && task.status === 'doing'),
    );
    expect(tasksOf(state).filter((task) => task.title === 'Write the report')).toHaveLength(1);
  });

  it('applies the patch console over HTTP and shows a curl command that does the same', async () => {
    const patch = [
      { op: 'add', path: '/board/tasks/-', value: { id: 'c1', title: 'From the console', status: 'todo' } },
    ];
    await bob.locator('#patch-input').fill(JSON.stringify(patch));
    const curl = (await bob.locator('#patch-curl').textContent()) ?? '';
    expect(curl).toContain(`curl -X PATCH '${servers[1]!.url}/api/docs/${encodeURIComponent(DOC)}/state'`);
    expect(curl).toContain("-H 'Content-Type: application/json-patch+json'");
    expect(curl).toContain(`-d '${JSON.stringify(patch)}'`);

    await bob.locator('#patch-apply').click();
    await bob.waitForSelector('#patch-result[data-state="applied"]');
    const answer = (await bob.locator('#patch-result').textContent()) ?? '';
    const seq = Number(/"seq":(\d+)/.exec(answer)?.[1]);
    expect(seq).toBeGreaterThan(0);
    await showsTask(alice, 'From the console');

    // The curl the console shows, run by a shell, does what Apply did.
    const second = [
      { op: 'add', path: '/board/tasks/-', value: { id: 'c2', title: "curl's task", status: 'done' } },
    ];
    await bob.locator('#patch-input').fill(JSON.stringify(second));
    const command = (await bob.locator('#patch-curl').textContent()) ?? '';
    const { stdout } = await promisify(execFile)('sh', ['-c', `${command} --silent --show-error`]);
    expect(JSON.parse(stdout)).toEqual({ seq: expect.any(Number) });
    await showsTask(alice, "curl's task", 'done');

    // A refused patch says why and changes nothing.
    const { seq: head } = await serverState(servers[1]!, DOC);
    await bob.locator('#patch-input').fill('[{"op":"test","path":"/text","value":"not the text"}]');
    await bob.locator('#patch-apply').click();
    await bob.waitForSelector('#patch-result[data-state="refused"]');
    await expect(bob.locator('#patch-result').textContent()).resolves.toMatch(/^refused: PATCH_TEST_FAILED/);
    expect((await serverState(servers[1]!, DOC)).seq).toBe(head);
  });

  it("streams the document's AG-UI events; the live JSON is their sum and equals the server's state", async () => {
    // Alice's panel reaches the server's head, and her live JSON is then the server's JSON.
    await waitFor(async () => {
      const { seq, state } = await serverState(servers[0]!, DOC);
      expect(Number(await alice.locator('#events li').first().getAttribute('data-seq'))).toBe(seq);
      expect(JSON.parse((await alice.locator('#state').textContent()) ?? 'null')).toEqual(state);
      return true;
    }, "Alice's live JSON to be the server's");
    // Newest first: deltas on top, the stream's first event (a snapshot) at the bottom.
    const types = await alice.$$eval('#events li', (items) =>
      items.map((item) => item.getAttribute('data-type')),
    );
    expect(types[0]).toBe('STATE_DELTA');
    // The stream began with a snapshot: at the bottom, until 40 newer events (the panel's length)
    // have pushed it out — typing in the earlier tests can make that many. (A stream that
    // resynchronises starts again with a snapshot: more than one is allowed.)
    if (types.length < 40) expect(types.at(-1)).toBe('STATE_SNAPSHOT');
    const delta = await alice.locator('#events li').first().locator('code').textContent();
    expect(JSON.parse(delta ?? 'null')).toEqual(
      expect.arrayContaining([expect.objectContaining({ op: expect.any(String) })]),
    );

    // A write by the console on Bob's server shows up in Alice's panel as a STATE_DELTA.
    await bob.locator('#patch-input').fill('[{"op":"add","path":"/board/title","value":"Sprint 7"}]');
    await bob.locator('#patch-apply').click();
    await alice.waitForFunction(() =>
      Array.from(document.querySelectorAll('#events li[data-type="STATE_DELTA"] code')).some((node) =>
        node.textContent?.includes('"path":"/board/title"'),
      ),
    );
    await alice.waitForFunction(() =>
      document.querySelector('#state')?.textContent?.includes('"title": "Sprint 7"'),
    );
  });

  it('shows an earlier state from the timeline and the slider, and goes back to live', async () => {
    // The timeline lists the newest entries: seq, time, origin, patch.
    await alice.waitForSelector('#timeline li[data-seq] time');
    const entry = alice.locator('#timeline li[data-seq]').first();
    await expect(entry.locator('.origin').textContent()).resolves.not.toBe('');
    await expect(entry.locator('code').textContent()).resolves.toMatch(/^\[\{"op":/);

    // Picking an entry shows the document as it was after it, and that entry.
    const picked = Number(await alice.locator('#timeline li[data-seq]').nth(1).getAttribute('data-seq'));
    // (By its seq: the list may be redrawn between reading it and clicking.)
    await alice.locator(`#timeline li[data-seq="${picked}"] button`).click();
    await alice.waitForFunction((seq) => {
      const view = document.querySelector('#history-state') as HTMLElement;
      return !view.hidden && view.dataset.seq === String(seq);
    }, picked);
    await alice.waitForSelector(`#entry:not([hidden])[data-seq="${picked}"]`);
    await expect(
      alice.locator(`#timeline li[data-seq="${picked}"]`).getAttribute('aria-current'),
    ).resolves.toBe('true');

    // The slider goes anywhere: the state after 'Hello from Alice.' was typed.
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

    await alice.locator('#back-to-live').click();
    await expect(alice.locator('#history-label').textContent()).resolves.toMatch(/^live · seq \d+$/);
    expect(await alice.locator('#history-state').isHidden()).toBe(true);
    expect(await alice.locator('#back-to-live').isHidden()).toBe(true);
  });

  it('passes axe-core with no serious violations, live, in history and dark on a phone screen, which it fits', async (test) => {
    // Bob's caret, named, in Alice's notes (for the screenshot, and for axe to see it too).
    await bob.locator('#editor').focus();
    await bob.keyboard.press('Control+Home');
    await alice.waitForFunction(() => {
      const caret = document.querySelector<HTMLElement>('#cursors .cursor[data-name="Bob"]');
      return caret !== null && caret.offsetLeft < 20;
    });
    expect(await seriousViolations(alice)).toEqual([]);
    await screenshot(alice, 'demo', test);

    await bob.locator('#history').fill(String(earlierSeq));
    await bob.waitForSelector('#entry:not([hidden])');
    expect(await seriousViolations(bob)).toEqual([]);
    await screenshot(bob, 'demo-history', test);

    const phone = await context.newPage();
    await phone.setViewportSize({ width: 360, height: 780 });
    // The phone reads in dark mode: axe checks the dark colours too.
    await phone.emulateMedia({ colorScheme: 'dark' });
    await phone.goto(`${servers[0]!.url}/?name=Phone#${encodeURIComponent(DOC)}`);
    await phone.waitForSelector('#editor:not([disabled])');
    await phone.waitForSelector('#events li');
    // Nothing wider than the screen: no sideways scrolling.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    // Light enough for a phone: the page's scripts and styles (uncompressed) stay small.
    const bytes = await phone.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((entry) => /\.(js|css)$/.test(new URL(entry.name).pathname))
        .reduce((sum, entry) => sum + (entry as PerformanceResourceTiming).decodedBodySize, 0),
    );
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(250_000);
    expect(await seriousViolations(phone)).toEqual([]);
    await screenshot(phone, 'demo-phone', test);
    await phone.close();

    expect(pageErrors).toEqual([]);
  });
});
