import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// Runs the tour as a user would (against the built packages: `npm test` builds first) and checks
// that what it prints is what the README promises.
const script = fileURLToPath(new URL('../index.mjs', import.meta.url));
let stdout = '';

/** The JSON values printed after `label` (padded), one per line that starts with it. */
function printedAll(label: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`${label}  `))
    .map((line) => JSON.parse(line.slice(label.length)));
}

/** The JSON printed after `label`, which must occur on exactly one line. */
function printed(label: string): unknown {
  const values = printedAll(label);
  if (values.length !== 1)
    throw new Error(`expected one line "${label}", got ${values.length} in:\n${stdout}`);
  return values[0];
}

describe('examples/core-tour', () => {
  beforeAll(async () => {
    // execFile rejects (with stderr) on a non-zero exit, so reaching the tests means it exited 0.
    ({ stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000 }));
  });

  it('writes by path and reports each change as JSON Patch to matching subscriptions', () => {
    expect(printed('document')).toEqual({
      title: 'Launch plan',
      todos: [
        { text: 'write docs', done: true },
        { text: 'ship', done: false },
      ],
      owner: 'ana',
      meta: { priority: 'high', due: '2026-12-01' },
      notes: { body: 'Draft v2' },
    });
    expect(printedAll('  /todos/*/done')).toContainEqual([
      { op: 'replace', path: '/todos/0/done', value: true },
    ]);
    expect(printedAll('  /notes/**')).toContainEqual([
      { op: 'replace', path: '/notes/body', value: 'Draft v2' },
    ]);
    expect(printed('  /todos/*/done (replica)')).toEqual([
      { op: 'replace', path: '/todos/1/done', value: true },
    ]);
  });

  it('converges two replicas that edited the same text concurrently', () => {
    expect(printed('notes here')).toBe('Ana: Draft v2 (seen by Bo)');
    expect(printed('notes on the replica')).toBe('Ana: Draft v2 (seen by Bo)');
    expect(stdout).toContain('replicas converged: true');
  });

  it("lands an agent's patch at its base version next to the item it meant", () => {
    expect(printed('todos with base')).toEqual(['book room', 'write docs', 'review docs', 'ship']);
    expect(printed('todos without base')).toEqual(['book room', 'review docs', 'write docs', 'ship']);
  });

  it('rejects a patch whose test op fails, with its error code', () => {
    expect(stdout).toContain('patch rejected: PATCH_TEST_FAILED; title is still "Launch plan"');
  });
});
