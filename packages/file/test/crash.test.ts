import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isYStateError } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { range, storeFixture } from './helpers.js';

const store = storeFixture();
const child = fileURLToPath(new URL('./fixtures/append-loop.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Resolves once the child printed `count` acknowledged appends, with every line so far. */
function readAcknowledged(process: ChildProcess, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    process.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    process.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop()!;
      lines.push(...complete);
      if (lines.length > count) resolve(lines);
    });
    process.on('exit', (code, signal) => {
      reject(new Error(`the child exited early (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
}

/** Runs the child until it acknowledged at least `count` appends, then SIGKILLs it; returns what it acknowledged. */
async function crashAfter(dir: string, count: number): Promise<{ seq: number; payload: string }[]> {
  const writer = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    writer.on('exit', (_code, signal) => resolve(signal)),
  );
  let lines: string[];
  try {
    lines = await readAcknowledged(writer, count);
    // The store is locked while the writer lives.
    const locked = await store.open({ dir }).catch((error: unknown) => error);
    expect(isYStateError(locked, ErrorCode.STORE_LOCKED), String(locked)).toBe(true);
  } finally {
    writer.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  // Only whole lines count (the child printed each after its append resolved); more may have
  // arrived between the count and the kill.
  return lines
    .filter((line) => line !== 'ready')
    .map((line) => {
      const [seq, id, n] = line.split(' ');
      return { seq: Number(seq), payload: `${id}:${n}` };
    });
}

describe('crash', () => {
  it('keeps every acknowledged append when the writing process is SIGKILLed mid-flight, crash after crash', async () => {
    if (!existsSync(dist)) {
      throw new Error(
        'packages/file/dist is missing: the crash test runs the built package in a child process. ' +
          'Build it with `npx tsc -b packages/file` (`npm test` builds first).',
      );
    }
    const dir = await store.dir();
    const acknowledged = new Map<number, string>();
    let lastHead = 0;
    for (let round = 0; round < 3; round += 1) {
      const acks = await crashAfter(dir, 300);
      expect(acks.length).toBeGreaterThanOrEqual(300);
      for (const { seq, payload } of acks) {
        // A later round's writers restart their counters, so each round names its own seqs.
        expect(seq).toBeGreaterThan(lastHead);
        acknowledged.set(seq, payload);
      }

      // The dead writer's LOCK is taken over; the log is dense and holds every acknowledged append.
      const log = await store.open({ dir });
      const head = await log.head('crash/doc');
      const entries = await log.read('crash/doc');
      expect(entries.map((entry) => entry.seq)).toEqual(range(1, head));
      const decoder = new TextDecoder();
      const payloads = new Map(entries.map((entry) => [entry.seq, decoder.decode(entry.payload)]));
      for (const [seq, payload] of acknowledged) expect(payloads.get(seq), `seq ${seq}`).toBe(payload);
      for (const entry of entries) expect(decoder.decode(entry.payload)).toMatch(/^([0-3]:\d+|parent)$/);
      // Within a round, each writer's appends are in its own order.
      const roundEntries = entries.filter((entry) => entry.seq > lastHead);
      for (const id of ['0', '1', '2', '3']) {
        const mine = roundEntries
          .filter((entry) => entry.origin === `writer-${id}`)
          .map((entry) => decoder.decode(entry.payload));
        expect(mine).toEqual(range(0, mine.length - 1).map((n) => `${id}:${n}`));
      }
      const [next] = await log.append('crash/doc', [
        {
          kind: 'update',
          time: Date.now(),
          origin: 'parent',
          flags: 0,
          payload: new TextEncoder().encode('parent'),
        },
      ]);
      expect(next!.seq).toBe(head + 1);
      lastHead = head + 1;
      await log.close();
    }
  });
});
