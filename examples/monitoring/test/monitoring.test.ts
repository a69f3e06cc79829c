import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { closeCodeOf, type ErrorCode, httpStatusOf } from '@ystate/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_REACTIONS, HTTP_REACTIONS } from '../client.mjs';

// Runs the example as its README says (a live `ystate serve --config ystate.json`), then holds
// the Prometheus rules and the Grafana dashboard against what that server really exposes, and the
// client's reactions against what that server really answered.
const here = (file: string) => fileURLToPath(new URL(`../${file}`, import.meta.url));
const read = (file: string) => readFileSync(here(file), 'utf8');
let stdout = '';

/** The JSON printed after `label` (padded to 22 columns) on its one line. */
function printed(label: string): unknown {
  const lines = stdout.split('\n').filter((line) => line.startsWith(label.padEnd(22)));
  if (lines.length !== 1) throw new Error(`expected one line "${label}", got ${lines.length} in:\n${stdout}`);
  return JSON.parse(lines[0]!.slice(22));
}

/** `refused  CODE  HTTP 409 → …` / `refused  CODE  close 4429 → …` lines: [code, transport, number]. */
function refusals(): [string, 'HTTP' | 'close', number][] {
  return [...stdout.matchAll(/^refused {2}(\S+) +(HTTP|close) (\d+) +→/gm)].map((m) => [
    m[1]!,
    m[2] as 'HTTP' | 'close',
    Number(m[3]),
  ]);
}

/** Metric names a file's PromQL uses; histogram series (`_bucket`, `_sum`, `_count`) by their family. */
function metricsNamedIn(text: string, families: readonly string[]): string[] {
  const names = new Set<string>();
  for (const [name] of text.matchAll(/\bystate_[a-z_]+\b/g)) {
    const family = name.replace(/_(bucket|sum|count)$/, '');
    names.add(families.includes(family) ? family : name);
  }
  return [...names].sort();
}

describe('examples/monitoring', () => {
  beforeAll(async () => {
    ({ stdout } = await promisify(execFile)(process.execPath, [here('index.mjs')], { timeout: 60_000 }));
  }, 90_000);

  it('names in its alert rules and dashboard only metrics a live server exposes', () => {
    const families = printed('metric families') as string[];
    expect(families.length).toBeGreaterThan(10);
    const rules = metricsNamedIn(read('alerts.yml'), families);
    const dashboard = metricsNamedIn(read('grafana-dashboard.json'), families);
    expect(rules.length).toBeGreaterThanOrEqual(7);
    expect(dashboard.length).toBeGreaterThanOrEqual(12);
    for (const name of [...rules, ...dashboard]) expect(families, name).toContain(name);
  });

  it('alerts at the thresholds the server is configured with', () => {
    const { alerts } = JSON.parse(read('ystate.json')) as { alerts: Record<string, number> };
    const rules = read('alerts.yml');
    const threshold = (metric: string) =>
      Number(
        new RegExp(`rate\\(${metric}_sum\\[1m\\]\\) / rate\\(${metric}_count\\[1m\\]\\) > ([\\d.]+)`).exec(
          rules,
        )?.[1],
      );
    expect(threshold('ystate_log_append_seconds')).toBe(alerts.appendLatencyMs! / 1000);
    expect(threshold('ystate_bus_lag_seconds')).toBe(alerts.busLagMs! / 1000);
    const prometheus = read('prometheus.yml');
    expect(prometheus).toMatch(/rule_files:\s*\n\s*- alerts\.yml/);
    expect(prometheus).toMatch(/metrics_path: \/metrics/);
  });

  it('meets every refusal code its client handles, from the server, with its documented status', () => {
    const seen = refusals();
    for (const code of Object.keys(HTTP_REACTIONS) as ErrorCode[])
      expect(seen, code).toContainEqual([code, 'HTTP', httpStatusOf(code)]);
    for (const close of Object.keys(CLOSE_REACTIONS).map(Number))
      expect(
        seen.some(
          ([code, transport, n]) =>
            transport === 'close' && n === close && closeCodeOf(code as ErrorCode) === close,
        ),
        `close ${close}`,
      ).toBe(true);
    // The server counted each of them.
    const counted = printed('ystate_errors_total') as Record<string, number>;
    for (const [code] of seen) expect(counted[code], code).toBeGreaterThan(0);
  });

  it('recovers where the reaction says it can', () => {
    expect(stdout).toContain('= title "Launch"');
    expect(stdout).toContain('= stock 3');
    expect(stdout).toMatch(/= sent as 2 patches/);
    expect(stdout).toContain('= reconnected and synced: title "Launch"');
    expect(stdout).toContain(
      '= resynced after reconnecting: the server has 300 items; batching from now on: true',
    );
  });

  it('logs JSON lines with the refusal code', () => {
    const record = JSON.parse(stdout.split('\n').find((line) => line.startsWith('{"level":30'))!);
    expect(record).toMatchObject({ code: 'INVALID_VALUE', docId: 'team/blob' });
  });
});
