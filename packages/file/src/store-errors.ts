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

/** Passes `YStateError`s through and wraps anything else (I/O errors) as STORAGE_FAILED. */
export function toYStateError(error: unknown): YStateError {
  if (error instanceof YStateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new YStateError({ code: ErrorCode.STORAGE_FAILED, message: `file store: ${message}`, cause: error });
}

/** True for a Node.js system error with this `code` (ENOENT, EEXIST, …). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
