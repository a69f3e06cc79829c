/**
 * The gate over HTTP: JSON Patches with hostile values (lone surrogates in keys and strings,
 * `__proto__`, `constructor`/`prototype`, deep nesting, huge numbers). Each is either accepted and
 * reads back exactly as sent — live, and from the log after a restart — or refused with a 4xx code
 * and nothing changed.
 */

import { Engine } from '@ystate/core';
import { fuzzRuns, hostileJsonText, hostileKey, pointerSegment } from '@ystate/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fetchJson, patchState, startServer } from './helpers.js';

const DOC = 'hostile';

const patchText = fc
  .tuple(hostileKey, hostileJsonText)
  .map(
    ([key, value]) => `[{"op":"add","path":${JSON.stringify(`/${pointerSegment(key)}`)},"value":${value}}]`,
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
      { numRuns: fuzzRuns(400), seed: 13 },
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
