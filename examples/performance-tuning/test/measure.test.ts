import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// Runs `measure.mjs --quick --json` as a child process and checks the effects that do not depend on
// the machine's speed (entries, fsyncs, checkpoints, closes); the timings are only checked to exist.
const script = fileURLToPath(new URL('../measure.mjs', import.meta.url));
type Row = Record<string, string | number> & { knob: string; setting: string };
let rows: Row[] = [];
const of = (knob: string, setting: string): Row => {
  const found = rows.find((r) => r.knob === knob && r.setting === setting);
  if (found === undefined) throw new Error(`no row ${knob} ${setting} in ${JSON.stringify(rows)}`);
  return found;
};

describe('examples/performance-tuning', () => {
  beforeAll(async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--quick', '--json'], {
      timeout: 90_000,
    });
    rows = JSON.parse(stdout) as Row[];
  }, 120_000);

  it('measures each fsync policy through ystate serve', () => {
    for (const policy of ['always', 'interval', 'never']) {
      const row = of('fsync', policy);
      expect(row['PATCH p50 (ms)']).toBeGreaterThan(0);
      expect(row['PATCH/s, 32 in flight']).toBeGreaterThan(0);
    }
  });

  it('logs fewer entries with coarser granularity, and windows delay acknowledgements', () => {
    const keystrokes = 30;
    const update = of('granularity', 'update');
    expect(update['log entries']).toBe(keystrokes + 1);
    expect(of('granularity', 'transaction')['log entries']).toBe(keystrokes + 1);
    const window50 = of('granularity', 'window 50 ms');
    const window500 = of('granularity', 'window 500 ms');
    expect(window50['log entries']).toBeLessThanOrEqual(keystrokes + 1);
    expect(window500['log entries']).toBeLessThan(keystrokes + 1);
    expect(window500.fsyncs).toBeLessThan(update.fsyncs as number);
    // The first keystroke's acknowledgement waits for the whole window.
    expect(window500['ack p99 (ms)']).toBeGreaterThanOrEqual(450);
    expect(of('granularity', 'lifecycle')['log entries']).toBe(1);
  });

  it('replays fewer entries to travel in time with checkpoints, and all of them without', () => {
    // 151 entries (the list, then 150 pushes); the point is seq 135.
    const replayed = (setting: string) => of('checkpointEvery', setting)['entries replayed for stateAt 90%'];
    expect(replayed('never')).toBe(135);
    expect(replayed('entries 1000')).toBe(135);
    expect(replayed('entries 25, sizeFraction 0')).toBeLessThan(135);
    expect(of('checkpointEvery', 'entries 25, sizeFraction 0')['checkpoint bytes']).toBeGreaterThan(0);
    expect(of('checkpointEvery', 'never')['checkpoint bytes']).toBe(0);
  });

  it('closes a bursting client at a low messagesPerSecond, which then catches up by its resync', () => {
    expect(of('limits.messagesPerSecond', '100')['closed with']).toBe(4429);
    expect(of('limits.messagesPerSecond', '1000')['closed with']).toBe('none');
    for (const rate of ['100', '1000'])
      expect(of('limits.messagesPerSecond', rate)['all on the server after (ms)']).toBeGreaterThan(0);
  });
});
