import { MemoryUpdateLog } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { isTimedUpdateLog, timeAppends } from './timed-log.js';

describe('timeAppends', () => {
  it('reports each append and otherwise behaves as the wrapped log', async () => {
    const log = Object.assign(new MemoryUpdateLog(), { publishesAppends: true });
    const timed = timeAppends(log);
    const timings: [string, number][] = [];
    const stop = timed.onAppendTiming((docId, count, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      timings.push([docId, count]);
    });
    const payload = new Uint8Array([0, 0]);
    const stored = await timed.append('d', [
      { kind: 'update', time: 1, origin: 'o', flags: 0, payload },
      { kind: 'update', time: 2, origin: 'o', flags: 0, payload },
    ]);
    expect(stored.map((e) => e.seq)).toEqual([1, 2]);
    expect(timings).toEqual([['d', 2]]);
    stop();
    await timed.append('d', [{ kind: 'update', time: 3, origin: 'o', flags: 0, payload }]);
    expect(timings).toHaveLength(1);
    expect(await timed.head('d')).toBe(3);
    expect(timed.publishesAppends).toBe(true);
    expect('restore' in timed).toBe('restore' in log);
    expect(isTimedUpdateLog(timed)).toBe(true);
    expect(isTimedUpdateLog(log)).toBe(false);
  });
});
