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
  DOCUMENT_TOO_LARGE: 'DOCUMENT_TOO_LARGE',
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  VERSION_EXISTS: 'VERSION_EXISTS',
  RUN_NOT_FOUND: 'RUN_NOT_FOUND',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Per code: the HTTP status (the WebSocket close code is `4000 + status`, see `closeCodeOf`) and
 * whether the failure may pass if the same call is tried again later (`retryable`). Only a log that
 * could not be reached is retryable: the engine retries such appends in order; every other failure
 * of an append (a refusal, corruption, a full disk) stops the document's writes until it reloads.
 */
const table: Record<ErrorCode, { status: number; retryable?: true }> = {
  INVALID_POINTER: { status: 400 },
  INVALID_PATCH: { status: 400 },
  INVALID_VALUE: { status: 400 },
  INVALID_PATTERN: { status: 400 },
  PATH_NOT_FOUND: { status: 404 },
  TYPE_MISMATCH: { status: 409 },
  PATCH_TEST_FAILED: { status: 409 },
  DOCUMENT_CLOSED: { status: 410 },
  DOCUMENT_EXISTS: { status: 409 },
  CORRUPT_ENTRY: { status: 500 },
  CORRUPT_ARCHIVE: { status: 400 },
  INVALID_EVENT: { status: 400 },
  INVALID_UPDATE: { status: 400 },
  DOCUMENT_PAUSED: { status: 423 },
  HISTORY_PRUNED: { status: 410 },
  LOG_UNAVAILABLE: { status: 503, retryable: true },
  UNKNOWN_KEY: { status: 500 },
  DECRYPTION_FAILED: { status: 500 },
  INVALID_CONFIG: { status: 400 },
  STORAGE_FAILED: { status: 500 },
  STORE_LOCKED: { status: 423 },
  UNAUTHORIZED: { status: 401 },
  FORBIDDEN: { status: 403 },
  INVALID_MESSAGE: { status: 400 },
  MESSAGE_TOO_LARGE: { status: 413 },
  RATE_LIMITED: { status: 429 },
  SLOW_CONSUMER: { status: 503 },
  ROUTE_NOT_FOUND: { status: 404 },
  METHOD_NOT_ALLOWED: { status: 405 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  INTERNAL_ERROR: { status: 500 },
  AGENT_PROTOCOL_VIOLATION: { status: 422 },
  DOCUMENT_TOO_LARGE: { status: 413 },
  VERSION_NOT_FOUND: { status: 404 },
  VERSION_EXISTS: { status: 409 },
  RUN_NOT_FOUND: { status: 404 },
};

/** What `new YStateError(options)` takes: a code from `ErrorCode`, a message, and the cause. */
export interface YStateErrorOptions {
  code: ErrorCode;
  message: string;
  cause?: unknown;
}

/** The error every ystate API throws; `code` tells callers what happened. */
export class YStateError extends Error {
  readonly code: ErrorCode;

  /** An error with a code from `ErrorCode`; its HTTP status and close code follow from the code. */
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
  return table[code].status;
}

/** The WebSocket close code (4xxx) for an error with this code. */
export function closeCodeOf(code: ErrorCode): number {
  return 4000 + table[code].status;
}

/** True when `error` is a `YStateError`, optionally with the given code. */
export function isYStateError(error: unknown, code?: ErrorCode): error is YStateError {
  return error instanceof YStateError && (code === undefined || error.code === code);
}

/** True when a failure with this code may pass if the same call is tried again later. */
export function isRetryable(error: unknown): boolean {
  return error instanceof YStateError && table[error.code].retryable === true;
}

/**
 * The one place an unknown thrown value becomes a `YStateError`: a `YStateError` passes through,
 * anything else is wrapped with the code and message the caller classified it as, keeping it as
 * `cause`. The thrown value's own message is appended unless `detail` is false (errors a client
 * sees: their details stay in the logs).
 */
export function toYStateError(
  error: unknown,
  fallback: { code: ErrorCode; message: string; detail?: boolean },
): YStateError {
  if (error instanceof YStateError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const message = fallback.detail === false ? fallback.message : `${fallback.message}: ${detail}`;
  return new YStateError({ code: fallback.code, message, cause: error });
}
