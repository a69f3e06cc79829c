/** The errors the file store raises, each a `YStateError` with its code. */

import { ErrorCode, YStateError } from '@ystate/core';

/** A caller passed something the store cannot take. */
export function invalidValue(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message, cause });
}

/** The store was closed before or during the call. */
export function closedError(): YStateError {
  return new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the file update log is closed' });
}

/** A file holds bytes that are not what this store wrote there. */
export function corruptFile(file: string, message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.CORRUPT_ENTRY, message: `${file}: ${message}`, cause });
}

/**
 * How core's `toYStateError` classifies what the file system throws (EIO, ENOSPC, EACCES, …):
 * STORAGE_FAILED, which is not retryable: a full disk or a failing device does not pass by
 * retrying the same append.
 */
export const STORAGE_FAILURE = { code: ErrorCode.STORAGE_FAILED, message: 'file store' } as const;

/** True for a Node.js system error with this `code` (ENOENT, EEXIST, …). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
