/**
 * One error class for the whole engine. Every failure a caller can see carries a code from
 * `ErrorCode`; the HTTP status and WebSocket close code of each code live in one table.
 */

/** What went wrong, as a stable machine-readable code. */
export const ErrorCode = {
  INVALID_POINTER: 'INVALID_POINTER',
  INVALID_PATCH: 'INVALID_PATCH',
  INVALID_VALUE: 'INVALID_VALUE',
  INVALID_PATTERN: 'INVALID_PATTERN',
  PATH_NOT_FOUND: 'PATH_NOT_FOUND',
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  PATCH_TEST_FAILED: 'PATCH_TEST_FAILED',
  DOCUMENT_CLOSED: 'DOCUMENT_CLOSED',
  DOCUMENT_EXISTS: 'DOCUMENT_EXISTS',
  CORRUPT_ENTRY: 'CORRUPT_ENTRY',
  CORRUPT_ARCHIVE: 'CORRUPT_ARCHIVE',
  INVALID_EVENT: 'INVALID_EVENT',
  INVALID_UPDATE: 'INVALID_UPDATE',
  DOCUMENT_PAUSED: 'DOCUMENT_PAUSED',
  HISTORY_PRUNED: 'HISTORY_PRUNED',
  LOG_UNAVAILABLE: 'LOG_UNAVAILABLE',
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  INVALID_CONFIG: 'INVALID_CONFIG',
  STORAGE_FAILED: 'STORAGE_FAILED',
  STORE_LOCKED: 'STORE_LOCKED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  AGENT_PROTOCOL_VIOLATION: 'AGENT_PROTOCOL_VIOLATION',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status per code. The WebSocket close code is `4000 + status` (see `closeCodeOf`). */
const httpStatus: Record<ErrorCode, number> = {
  INVALID_POINTER: 400,
  INVALID_PATCH: 400,
  INVALID_VALUE: 400,
  INVALID_PATTERN: 400,
  PATH_NOT_FOUND: 404,
  TYPE_MISMATCH: 409,
  PATCH_TEST_FAILED: 409,
  DOCUMENT_CLOSED: 410,
  DOCUMENT_EXISTS: 409,
  CORRUPT_ENTRY: 500,
  CORRUPT_ARCHIVE: 400,
  INVALID_EVENT: 400,
  INVALID_UPDATE: 400,
  DOCUMENT_PAUSED: 423,
  HISTORY_PRUNED: 410,
  LOG_UNAVAILABLE: 503,
  UNKNOWN_KEY: 500,
  DECRYPTION_FAILED: 500,
  INVALID_CONFIG: 400,
  STORAGE_FAILED: 500,
  STORE_LOCKED: 423,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  INVALID_MESSAGE: 400,
  MESSAGE_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  SLOW_CONSUMER: 503,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
  AGENT_PROTOCOL_VIOLATION: 422,
};

export interface YStateErrorOptions {
  code: ErrorCode;
  message: string;
  cause?: unknown;
}

/** The error every ystate API throws; `code` tells callers what happened. */
export class YStateError extends Error {
  readonly code: ErrorCode;

  constructor({ code, message, cause }: YStateErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'YStateError';
    this.code = code;
  }

  /** The JSON body HTTP endpoints answer with. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The HTTP status that answers an error with this code. */
export function httpStatusOf(code: ErrorCode): number {
  return httpStatus[code];
}

/** The WebSocket close code (4xxx) for an error with this code. */
export function closeCodeOf(code: ErrorCode): number {
  return 4000 + httpStatus[code];
}

/** True when `error` is a `YStateError`, optionally with the given code. */
export function isYStateError(error: unknown, code?: ErrorCode): error is YStateError {
  return error instanceof YStateError && (code === undefined || error.code === code);
}
