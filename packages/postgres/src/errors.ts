/** How PostgreSQL and connection failures become `YStateError`s, and which of them are worth a retry. */

import { ErrorCode, isYStateError, YStateError } from '@ystate/core';

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * True when `error` says the server could not be reached or went away (rather than refusing the
 * statement): a network error, SQLSTATE class 08, an administrator/crash shutdown, a server still
 * starting up, or too many connections. Such a failure is worth retrying once the server is back.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && SQLSTATE.test(code)) {
    return code.startsWith('08') || code.startsWith('57P') || code === '53300';
  }
  // Without a SQLSTATE it is the client's own error: a socket error, a terminated connection, a
  // pool timeout. Statement errors always carry one.
  return true;
}

/**
 * True when PostgreSQL rolled the transaction back because of a concurrent one (serialization
 * failure 40001, deadlock 40P01): it had no effect, and trying again is safe.
 */
export function isRolledBack(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === '40001' || code === '40P01';
}

/**
 * Wraps a failure of `what` (e.g. `appending to "projects/42"`): LOG_UNAVAILABLE when the server
 * could not be reached (retry later), STORAGE_FAILED when it refused the statement.
 */
export function storeError(cause: unknown, what: string): YStateError {
  if (isYStateError(cause)) return cause;
  const unavailable = isConnectionError(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new YStateError({
    code: unavailable ? ErrorCode.LOG_UNAVAILABLE : ErrorCode.STORAGE_FAILED,
    message: `${what} failed: ${unavailable ? 'PostgreSQL is unavailable' : 'PostgreSQL refused it'} (${detail})`,
    cause,
  });
}
