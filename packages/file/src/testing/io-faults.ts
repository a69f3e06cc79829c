/** Injected I/O failures for the file store: the next write or fdatasync of a document fails, as a failing disk makes it. */

import type { FileIoHooks } from '../store-options.js';

/** A planned failure: which document (any when undefined), how many more calls, with what error code. */
interface Plan {
  docId: string | undefined;
  remaining: number;
  code: string;
}

/** What to fail: a document (default: whichever comes next), how many calls in a row (default 1), the errno code (default EIO). */
export interface FaultOptions {
  docId?: string;
  times?: number;
  code?: string;
}

/**
 * `FileIoHooks` that fail planned calls with a Node.js system error (`code` EIO by default), as
 * the real call would have failed. Plans are used up in the order they were made.
 *
 *   const faults = new IoFaults();
 *   const log = await openFileLog({ dir, ioHooks: faults });
 *   faults.failNextSync({ docId: 'projects/42' }); // the next append of projects/42 fails with STORAGE_FAILED
 */
export class IoFaults implements FileIoHooks {
  readonly #writes: Plan[] = [];
  readonly #syncs: Plan[] = [];
  /** How many calls failed so far. */
  failed = 0;

  /** Makes the next write of appended records (to `docId`, or to any document) fail. */
  failNextWrite(options: FaultOptions = {}): void {
    this.#writes.push(planOf(options));
  }

  /** Makes the next fdatasync of a log file (of `docId`, or of any document) fail. */
  failNextSync(options: FaultOptions = {}): void {
    this.#syncs.push(planOf(options));
  }

  /** Drops every failure not used yet. */
  clear(): void {
    this.#writes.length = 0;
    this.#syncs.length = 0;
  }

  /** Failures planned and not used yet. */
  get pending(): number {
    return [...this.#writes, ...this.#syncs].reduce((sum, plan) => sum + plan.remaining, 0);
  }

  beforeWrite(docId: string): void {
    this.#fail(this.#writes, docId, 'write');
  }

  beforeSync(docId: string): void {
    this.#fail(this.#syncs, docId, 'fdatasync');
  }

  #fail(plans: Plan[], docId: string, syscall: string): void {
    const index = plans.findIndex((plan) => plan.docId === undefined || plan.docId === docId);
    if (index === -1) return;
    const plan = plans[index]!;
    plan.remaining -= 1;
    if (plan.remaining === 0) plans.splice(index, 1);
    this.failed += 1;
    throw ioError(plan.code, syscall);
  }
}

/** An error shaped like the one Node.js throws for a failed system call (`code`, `syscall`, `errno`). */
export function ioError(code: string, syscall: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    EIO: 'i/o error',
    ENOSPC: 'no space left on device',
    EROFS: 'read-only file system',
    EDQUOT: 'disk quota exceeded',
  };
  const errnos: Record<string, number> = { EIO: -5, ENOSPC: -28, EROFS: -30, EDQUOT: -122 };
  const error: NodeJS.ErrnoException = new Error(
    `${code}: ${messages[code] ?? 'injected failure'}, ${syscall}`,
  );
  error.code = code;
  error.syscall = syscall;
  if (errnos[code] !== undefined) error.errno = errnos[code];
  return error;
}

function planOf({ docId, times = 1, code = 'EIO' }: FaultOptions): Plan {
  if (!Number.isSafeInteger(times) || times < 1) throw new RangeError('times must be a positive integer');
  return { docId, remaining: times, code };
}
