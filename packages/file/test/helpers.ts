/** Shared pieces of the file store tests: temp dirs and logs that clean up, recognisable entries. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntryInput, LogEntry } from '@ystate/core';
import { afterEach } from 'vitest';
import { type FileLogOptions, type FileUpdateLog, openFileLog } from '../src/index.js';

export interface StoreFixture {
  /** A fresh temp directory. */
  dir(): Promise<string>;
  /** Opens a log; it is closed after the test unless the test closed it. */
  open(options: FileLogOptions): Promise<FileUpdateLog>;
}

/** Temp dirs and logs made through it are closed and removed after each test of the calling file. */
export function storeFixture(): StoreFixture {
  const dirs: string[] = [];
  const logs: FileUpdateLog[] = [];
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close().catch(() => undefined);
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return {
    async dir() {
      const dir = await mkdtemp(join(tmpdir(), 'ystate-file-'));
      dirs.push(dir);
      return dir;
    },
    async open(options) {
      const log = await openFileLog(options);
      logs.push(log);
      return log;
    },
  };
}

/** An entry whose fields derive from `n`, with an optional payload size. */
export function input(n: number, payloadSize = 3): EntryInput {
  const payload = Uint8Array.from({ length: payloadSize }, (_, i) => (n * 31 + i) & 0xff);
  return { kind: 'update', time: 1_700_000_000_000 + n, origin: `node-${n % 3}`, flags: 0, payload };
}

/** `input(n)` as stored at `seq`. */
export function stored(n: number, seq: number, payloadSize = 3): LogEntry {
  return { ...input(n, payloadSize), seq };
}

/** A checkpoint entry at `seq`. */
export function checkpointAt(seq: number, payloadSize = 8): LogEntry {
  return { ...input(seq, payloadSize), kind: 'checkpoint', origin: 'checkpointer', seq };
}

/** An entry as plain data, so comparisons see bytes whatever Uint8Array subclass holds them. */
export function view(entry: LogEntry | EntryInput): Record<string, unknown> {
  return { ...entry, payload: Array.from(entry.payload) };
}

export function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}
