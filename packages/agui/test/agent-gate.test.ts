/**
 * The gate for agents: STATE_DELTA and STATE_SNAPSHOT events with hostile values (lone
 * surrogates, `__proto__`, `constructor`/`prototype`, deep nesting, huge numbers). A run is either
 * applied and its values read back exactly (live and from the log), or refused with a code and
 * nothing changed — never half-applied.
 */

import { EventType } from '@ag-ui/core';
import { Engine, isYStateError, type Json, MemoryUpdateLog } from '@ystate/core';
import { fuzzRuns, hostileJsonText, hostileKey, pointerSegment } from '@ystate/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyAgentEvents } from '../src/index.js';

const value = hostileJsonText.map((text) => JSON.parse(text) as Json);

describe('the gate for agents: hostile STATE_DELTA and STATE_SNAPSHOT events', () => {
  it('a run is applied with its values read back exactly, or refused with a code and nothing changed', async () => {
    const log = new MemoryUpdateLog();
    const engine = new Engine({ log });
    let run = 0;
    const outcomes = { applied: 0, refused: new Set<string>() };
    await engine.write('agent', (tx) => tx.set('/seed', 1));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), hostileKey, value, async (snapshot, key, val) => {
        const docId = 'agent';
        const before = JSON.stringify(await engine.get(docId));
        const head = await log.head(docId);
        const ids = { threadId: 't', runId: `r${++run}` };
        const state = snapshot
          ? { type: EventType.STATE_SNAPSHOT, snapshot: { [key]: val } }
          : {
              type: EventType.STATE_DELTA,
              delta: [{ op: 'add', path: `/${pointerSegment(key)}`, value: val }],
            };
        if (snapshot) Object.defineProperty(state.snapshot, key, { value: val, enumerable: true });
        let refused: unknown;
        try {
          await applyAgentEvents(
            engine,
            docId,
            [{ type: EventType.RUN_STARTED, ...ids }, state, { type: EventType.RUN_FINISHED, ...ids }],
            { baseSeq: head },
          );
        } catch (error) {
          refused = error;
        }
        const after = (await engine.get(docId)) as Record<string, Json>;
        if (refused === undefined) {
          expect(JSON.stringify(Object.getOwnPropertyDescriptor(after, key)?.value)).toBe(
            JSON.stringify(val),
          );
          outcomes.applied++;
          return;
        }
        expect(isYStateError(refused), String(refused)).toBe(true);
        outcomes.refused.add((refused as { code: string }).code);
        // Refused: the state is as it was; the log holds at most the run's own lifecycle events.
        expect(JSON.stringify(await engine.get(docId))).toBe(before);
        for (const entry of await log.read(docId, { from: head + 1 })) expect(entry.kind).toBe('lifecycle');
      }),
      { numRuns: fuzzRuns(300), seed: 5 },
    );
    // Both outcomes happened, and refusals carry the value gate's code.
    expect(outcomes.applied).toBeGreaterThan(10);
    expect([...outcomes.refused]).toContain('INVALID_VALUE');
    await engine.flush();
    const fresh = new Engine({ log });
    expect(JSON.stringify(await fresh.get('agent'))).toBe(JSON.stringify(await engine.get('agent')));
    await fresh.close();
    await engine.close();
  }, 300_000);
});
