/**
 * The engine fault suite, run against the memory log and every real store: writers (path API
 * writes, clients' Yjs updates, JSON Patches) run while appends fail at random — unreachable or
 * refused, before or after the store acted — and engines restart. After every run it asserts that
 * (a) every acknowledged write is in the log, (b) reloading the document from the log gives
 * exactly the live state, and (c) every change was announced exactly once, in order, with a seq
 * whose rebuilt state is exactly the state after that change. Yjs's random connector tests are
 * the model. Call it from a test file:
 *
 *   runEngineFaultTests('MemoryUpdateLog', async () => ({ log: new MemoryUpdateLog() }));
 */

import fc from 'fast-check';
import { applyPatch, deepClone } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Engine } from '../engine.js';
import { ErrorCode, YStateError } from '../errors.js';
import type { Json } from '../json.js';
import type { PatchOperation } from '../json-patch.js';
import type { EntryInput, LogEntry } from '../log-entry.js';
import type { Change } from '../state-document.js';
import type { SeqRange, UpdateLog } from '../update-log.js';

/** What a setup hands the suite for one run. */
export interface EngineFaultContext {
  /** A fresh, empty log (closed by the suite). */
  log: UpdateLog;
  /** Releases what the setup made; runs after the log is closed. */
  teardown?: () => Promise<void>;
}

/** Makes a fresh store (and how to fault it) for one run of the engine fault suite. */
export type EngineFaultSetup = () => Promise<EngineFaultContext>;

/** How the next append fails: before the store acts (nothing stored) or after (stored, yet reported failed). */
export type Fault = 'unreachable-before' | 'unreachable-after' | 'refused-before' | 'refused-after';

/** Wraps a log so that appends fail on demand, as stores do: unreachable (retryable) or refused. */
export class FaultyLog implements UpdateLog {
  readonly publishesAppends: boolean;
  private readonly faults: Fault[] = [];

  /** Wraps `inner`; every call passes through until a fault is armed. */
  constructor(private readonly inner: UpdateLog) {
    this.publishesAppends = inner.publishesAppends ?? false;
  }

  /** The next append (of any document) fails this way. */
  inject(fault: Fault): void {
    this.faults.push(fault);
  }

  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    const fault = this.faults.shift();
    if (fault?.endsWith('-before')) throw failure(fault);
    const stored = await this.inner.append(docId, entries);
    if (fault) throw failure(fault);
    return stored;
  }
  read(docId: string, range?: SeqRange): Promise<LogEntry[]> {
    return this.inner.read(docId, range);
  }
  head(docId: string): Promise<number> {
    return this.inner.head(docId);
  }
  latestCheckpoint(docId: string, atOrBefore?: number): Promise<LogEntry | undefined> {
    return this.inner.latestCheckpoint(docId, atOrBefore);
  }
  storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void> {
    return this.inner.storeCheckpoint(docId, checkpoint);
  }
  prune(docId: string, seq: number): Promise<void> {
    return this.inner.prune(docId, seq);
  }
  docIds(): Promise<string[]> {
    return this.inner.docIds();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function failure(fault: Fault): YStateError {
  return fault.startsWith('unreachable')
    ? new YStateError({ code: ErrorCode.LOG_UNAVAILABLE, message: `injected: ${fault}` })
    : new YStateError({ code: ErrorCode.STORAGE_FAILED, message: `injected: ${fault}` });
}

/** One step of a run. */
type Step =
  | { kind: 'write' }
  | { kind: 'receive' }
  | { kind: 'type' }
  | { kind: 'patch' }
  | { kind: 'fault'; fault: Fault }
  | { kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'write' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'receive' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'type' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'patch' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      fault: fc.constantFrom<Fault>(
        'unreachable-before',
        'unreachable-after',
        'refused-before',
        'refused-after',
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

const DOC = 'fault-suite';

/** One engine's life in a run, with what it announced. */
interface Incarnation {
  engine: Engine;
  /** The JSON when it opened, then each change it announced. */
  start: { seq: number; json: Json };
  changes: Change[];
}

async function incarnate(log: UpdateLog): Promise<Incarnation> {
  const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY, onError: () => {} });
  const doc = await engine.open(DOC);
  const changes: Change[] = [];
  doc.onChange((change) => changes.push(change));
  return { engine, start: { seq: engine.seqOf(DOC) ?? 0, json: doc.toJSON() }, changes };
}

/**
 * An editor typing into a Y.Text at `/typed` without waiting for the log: each keystroke names the
 * previous one, perhaps still in flight, as its origin. After a refusal it sends its whole state
 * next time, as a y-websocket client resyncs after the server closes its connection.
 */
class Editor {
  readonly acknowledged = new Set<string>();
  private readonly doc = new Y.Doc();
  private sent = Y.encodeStateVector(this.doc);
  private resync = false;

  type(engine: Engine, char: string): Promise<unknown> {
    const state = this.doc.getMap('state');
    let text = state.get('typed') as Y.Text | undefined;
    if (text === undefined) {
      text = new Y.Text();
      state.set('typed', text);
    }
    text.insert(text.length, char);
    const update = this.resync ? Y.encodeStateAsUpdate(this.doc) : Y.encodeStateAsUpdate(this.doc, this.sent);
    this.resync = false;
    this.sent = Y.encodeStateVector(this.doc);
    return engine.receive(DOC, update, { origin: 'editor' }).catch((error: unknown) => {
      this.resync = true;
      throw error;
    });
  }
}

/** Registers the engine fault suite under `name`. */
export function runEngineFaultTests(
  name: string,
  setup: EngineFaultSetup,
  options: { runs?: number } = {},
): void {
  describe(`engine fault suite: ${name}`, () => {
    it('nothing acknowledged is lost, reload equals live, every change announced once with an exact seq', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
          async (rounds) => {
            const context = await setup();
            const log = new FaultyLog(context.log);
            const acknowledged = new Map<string, Json>();
            const editor = new Editor();
            const incarnations: Incarnation[] = [];
            let current = await incarnate(log);
            incarnations.push(current);
            let counter = 0;
            try {
              for (const round of rounds) {
                const pending: Promise<unknown>[] = [];
                for (const s of round) {
                  const value = ++counter;
                  const { engine } = current;
                  if (s.kind === 'fault') log.inject(s.fault);
                  else if (s.kind === 'restart') {
                    await Promise.allSettled(pending.splice(0));
                    await engine.close().catch(() => {});
                    current = await incarnate(log);
                    incarnations.push(current);
                  } else {
                    const key = `${s.kind}-${value}`;
                    let write: Promise<unknown>;
                    let acknowledge = () => void acknowledged.set(key, value);
                    if (s.kind === 'write')
                      write = engine.write(DOC, (tx) => tx.set(`/${key}`, value), { origin: 'api' });
                    else if (s.kind === 'patch') {
                      write = engine.applyPatch(DOC, [{ op: 'add', path: `/${key}`, value }], {
                        origin: 'agent',
                      });
                    } else if (s.kind === 'type') {
                      const char = String.fromCodePoint(0x4e00 + value);
                      write = editor.type(engine, char);
                      acknowledge = () => void editor.acknowledged.add(char);
                    } else {
                      const client = new Y.Doc();
                      client.getMap('state').set(key, value);
                      write = engine.receive(DOC, Y.encodeStateAsUpdate(client), { origin: 'client' });
                    }
                    pending.push(write.then(acknowledge, () => {}));
                  }
                }
                await Promise.allSettled(pending);
              }
              // Let everything accepted reach the log (faults are one-shot: the log is healthy now).
              await current.engine.flush();
              const live = current.engine.registry.get(DOC)?.toJSON() ?? {};
              // (b) reloading from the log gives exactly the live state.
              const reloaded = await current.engine.stateAt(DOC, { seq: current.engine.seqOf(DOC) ?? 0 });
              expect(reloaded.json).toEqual(live);
              const head = await log.head(DOC);
              expect(current.engine.seqOf(DOC)).toBe(head);
              // (a) every acknowledged write is there.
              for (const [key, value] of acknowledged) {
                expect((live as Record<string, Json>)[key], `acknowledged ${key}`).toBe(value);
              }
              const typed = String((live as Record<string, Json>).typed ?? '');
              for (const char of editor.acknowledged)
                expect(typed, `acknowledged keystroke ${char}`).toContain(char);
              // (c) each incarnation announced every change once, in seq order, each seq exact.
              for (const { start, changes } of incarnations) {
                let json = deepClone(start.json) as Json;
                let previous = start.seq;
                for (const change of changes) {
                  expect(change.seq).toBeGreaterThan(previous);
                  previous = change.seq as number;
                  json = applyPatch(json, deepClone(change.ops) as PatchOperation[]).newDocument as Json;
                  const at = await current.engine.stateAt(DOC, { seq: change.seq as number });
                  expect(json, `state announced at seq ${change.seq}`).toEqual(at.json);
                }
              }
            } finally {
              await current.engine.close().catch(() => {});
              await log.close();
              await context.teardown?.();
            }
          },
        ),
        { numRuns: options.runs ?? 40 },
      );
    }, 120_000);
  });
}
