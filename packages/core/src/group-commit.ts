/**
 * Group commit, once for the whole node: appends that documents hand in during the same turn (and
 * while the store is busy with the previous round) go to the store together, so they share its
 * expensive step (one fdatasync, one round trip, one transaction) when the store has `appendMany`.
 * Each document's batch stays atomic and is answered on its own. Ordering per document is the
 * caller's job: a document has at most one batch here at a time (see `WriteQueue`).
 */

import { ErrorCode, toYStateError } from './errors.js';
import type { EntryInput, LogEntry } from './log-entry.js';
import type { AppendBatch, UpdateLog } from './update-log.js';

interface Request extends AppendBatch {
  resolve: (entries: LogEntry[]) => void;
  reject: (error: unknown) => void;
}

/** Most batches one store call carries; more wait for the next round. */
const MAX_BATCHES = 256;

export class GroupCommit {
  private waiting: Request[] = [];
  private running = false;

  constructor(private readonly log: UpdateLog) {}

  /** Appends one document's entries atomically; resolves with them as stored. */
  append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ docId, entries, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let the rest of this turn hand in its batches too.
        queueMicrotask(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    while (this.waiting.length > 0) {
      const round = this.waiting.splice(0, MAX_BATCHES);
      await this.commit(round);
    }
    this.running = false;
  }

  private async commit(round: Request[]): Promise<void> {
    const { log } = this;
    let outcomes: PromiseSettledResult<LogEntry[]>[];
    try {
      outcomes =
        log.appendMany && round.length > 1
          ? await log.appendMany(round)
          : await Promise.allSettled(round.map((r) => log.append(r.docId, r.entries)));
    } catch (cause) {
      outcomes = round.map(() => ({ status: 'rejected', reason: cause }));
    }
    round.forEach((request, i) => {
      const outcome = outcomes[i];
      if (outcome?.status === 'fulfilled') request.resolve(outcome.value);
      else {
        const reason = outcome === undefined ? new Error('the store gave no answer') : outcome.reason;
        request.reject(
          toYStateError(reason, {
            code: ErrorCode.STORAGE_FAILED,
            message: `appending to "${request.docId}" failed`,
          }),
        );
      }
    });
  }
}
