/**
 * The gate over HTTP: JSON Patches with hostile values (lone surrogates in keys and strings,
 * `__proto__`, `constructor`/`prototype`, deep nesting, huge numbers). Each is either accepted and
 * reads back exactly as sent — live, and from the log after a restart — or refused with a 4xx code
 * and nothing changed.
 */

import { Engine } from '@ystate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fetchJson, patchState, startServer } from './helpers.js';

const DOC = 'hostile';

const hostileString = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('\ud800', 'a\udc00b', '\udbff\udfff', '__proto__', 'constructor', 'prototype', '\u0000'),
);
const hostileKey = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'k\ud800'),
);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0),
);

/** A JSON value as text (so `__proto__` stays an own key and lone surrogates stay escaped). */
const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString.map((s) => JSON.stringify(s)),
    number.map((n) => JSON.stringify(n)),
    fc.constantFrom('true', 'null'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(hostileKey, tie('value')), { maxLength: 3 })
      .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** Nesting deeper than the documented limit of 64. */
const deep = fc.integer({ min: 60, max: 90 }).map((depth) => `${'['.repeat(depth)}1${']'.repeat(depth)}`);

const patchText = fc
  .tuple(hostileKey, fc.oneof({ weight: 5, arbitrary: valueText }, { weight: 1, arbitrary: deep }))
  .map(
    ([key, value]) =>
      `[{"op":"add","path":${JSON.stringify(`/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`)},"value":${value}}]`,
  );

describe('the gate over HTTP: hostile JSON Patches', () => {
  it('each is accepted and reads back exactly (live and after a restart), or refused with nothing changed', async () => {
    const server = await startServer();
    const accepted = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(patchText, async (text) => {
        const before = await fetchJson(`${server.http}/api/docs/${DOC}/state`);
        const head = await server.log.head(DOC);
        const answer = await patchState(server.http, DOC, text);
        const ops = JSON.parse(text) as { path: string; value: unknown }[];
        const op = ops[0] as { path: string; value: unknown };
        if (answer.status === 200) {
          const read = await fetch(
            `${server.http}/api/docs/${DOC}/state?path=${encodeURIComponent(op.path)}`,
          );
          expect(read.status).toBe(200);
          expect(await read.text()).toBe(JSON.stringify(op.value));
          accepted.set(op.path, JSON.stringify(op.value));
          return;
        }
        expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(await fetchJson(`${server.http}/api/docs/${DOC}/state`)).toMatchObject({ body: before.body });
        expect(await server.log.head(DOC)).toBe(head);
      }),
      { numRuns: 400, seed: 13 },
    );
    // What was acknowledged reads back the same from the log.
    await server.engine.flush();
    const fresh = new Engine({ log: server.log });
    const reloaded = await fresh.get(DOC);
    expect(JSON.stringify(reloaded)).toBe(JSON.stringify(await server.engine.get(DOC)));
    await fresh.close();
    expect(accepted.size).toBeGreaterThan(0);
  }, 300_000);
});
