/**
 * `timeAppends`: an `UpdateLog` decorator that reports how long each append takes. The server sees
 * the engine only from outside; wrap the log given to the `Engine` with it and the server's
 * `ystate_log_append_seconds` metric and `appendLatencyMs` alert use the real append latency.
 */

import type { AppendBatch, EntryInput, LogEntry, UpdateLog } from '@ystate/core';

/** Receives the duration of one append (a group commit: `count` entries). */
export type AppendTimingListener = (docId: string, count: number, ms: number) => void;

/** An `UpdateLog` that reports its append latency. */
export interface TimedUpdateLog extends UpdateLog {
  /** Calls `listener` after every append that succeeded. Returns a function that stops it. */
  onAppendTiming(listener: AppendTimingListener): () => void;
}

/** Wraps a log so that the duration of every append is reported (pass the result to the Engine). */
export function timeAppends(log: UpdateLog): TimedUpdateLog {
  const listeners = new Set<AppendTimingListener>();
  const append = async (docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> => {
    const start = performance.now();
    const stored = await log.append(docId, entries);
    const ms = performance.now() - start;
    for (const listener of listeners) listener(docId, entries.length, ms);
    return stored;
  };
  // Batches of several documents share one store call: each reports that call's duration.
  const appendMany = async (batches: readonly AppendBatch[]): Promise<PromiseSettledResult<LogEntry[]>[]> => {
    const start = performance.now();
    const outcomes = await (log.appendMany as NonNullable<UpdateLog['appendMany']>).call(log, batches);
    const ms = performance.now() - start;
    outcomes.forEach((outcome, i) => {
      const batch = batches[i];
      if (outcome.status !== 'fulfilled' || batch === undefined) return;
      for (const listener of listeners) listener(batch.docId, batch.entries.length, ms);
    });
    return outcomes;
  };
  const onAppendTiming = (listener: AppendTimingListener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  // A proxy rather than a copy: every other member (optional ones such as `restore`, and
  // `publishesAppends`, which the engine reads) stays exactly the wrapped log's.
  return new Proxy(log, {
    get(target, property) {
      if (property === 'append') return append;
      if (property === 'appendMany') return target.appendMany ? appendMany : undefined;
      if (property === 'onAppendTiming') return onAppendTiming;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has(target, property) {
      return property === 'onAppendTiming' || Reflect.has(target, property);
    },
  }) as TimedUpdateLog;
}

/** True when a log reports its append timings (it was wrapped with `timeAppends`). */
export function isTimedUpdateLog(log: UpdateLog): log is TimedUpdateLog {
  return typeof (log as Partial<TimedUpdateLog>).onAppendTiming === 'function';
}
