/**
 * The one error the client throws: a refusal from the server carries the server's code (the
 * `{ "error": { "code", "message" } }` body) and HTTP status; failures that never reached an
 * answer carry a client code. Whether retrying may help is decided here, once.
 */

/** The codes a ystate server answers with (`ErrorCode` of `@ystate/core`). */
export type ServerErrorCode =
  | 'INVALID_POINTER'
  | 'INVALID_PATCH'
  | 'INVALID_VALUE'
  | 'INVALID_PATTERN'
  | 'PATH_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'PATCH_TEST_FAILED'
  | 'DOCUMENT_CLOSED'
  | 'DOCUMENT_EXISTS'
  | 'CORRUPT_ENTRY'
  | 'CORRUPT_ARCHIVE'
  | 'INVALID_EVENT'
  | 'INVALID_UPDATE'
  | 'DOCUMENT_PAUSED'
  | 'HISTORY_PRUNED'
  | 'LOG_UNAVAILABLE'
  | 'UNKNOWN_KEY'
  | 'DECRYPTION_FAILED'
  | 'INVALID_CONFIG'
  | 'STORAGE_FAILED'
  | 'STORE_LOCKED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'SLOW_CONSUMER'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_ERROR'
  | 'AGENT_PROTOCOL_VIOLATION'
  | 'DOCUMENT_TOO_LARGE'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_EXISTS'
  | 'RUN_NOT_FOUND';

/**
 * Codes of failures on the client's side: `NETWORK_ERROR` (no answer: the server is unreachable,
 * the connection broke, CORS refused the request), `INVALID_RESPONSE` (an answer that is not what a
 * ystate server sends, or a stream event that does not apply to the state the client has).
 */
export type ClientErrorCode = 'NETWORK_ERROR' | 'INVALID_RESPONSE';

/** Every code a `YStateClientError` may carry. */
export type YStateClientErrorCode = ServerErrorCode | ClientErrorCode;

/** A failed request or stream: the server's code and status, or a client code. */
export class YStateClientError extends Error {
  override readonly name = 'YStateClientError';
  /** The server's error code, or a client code when there was no answer. */
  readonly code: YStateClientErrorCode;
  /** The HTTP status of the answer (undefined when there was none). */
  readonly status: number | undefined;

  /** An error with a code, a message and, for an HTTP answer, its status. */
  constructor(options: { code: YStateClientErrorCode; message: string; status?: number; cause?: unknown }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.status = options.status;
  }

  /** True when the same request may succeed later: no answer, 408, 429, or a 5xx status. */
  get retryable(): boolean {
    const { status } = this;
    return status === undefined
      ? this.code === 'NETWORK_ERROR'
      : status >= 500 || status === 408 || status === 429;
  }
}

/** True when `error` is a `YStateClientError`. */
export function isYStateClientError(error: unknown): error is YStateClientError {
  return error instanceof YStateClientError;
}

/** The error a non-2xx answer stands for: its `{ error: { code, message } }` body when it has one. */
export async function errorOfResponse(response: Response): Promise<YStateClientError> {
  const status = response.status;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code === 'string') {
    return new YStateClientError({
      code: error.code as ServerErrorCode,
      message: typeof error.message === 'string' ? error.message : error.code,
      status,
    });
  }
  return new YStateClientError({
    code: 'INVALID_RESPONSE',
    message: `the server answered ${status} ${response.statusText} without a ystate error body`,
    status,
  });
}

/** A failure of `fetch` itself (no answer) as a `NETWORK_ERROR`; aborts and our own errors pass through. */
export function networkError(error: unknown): unknown {
  if (isYStateClientError(error) || (error instanceof Error && error.name === 'AbortError')) return error;
  return new YStateClientError({
    code: 'NETWORK_ERROR',
    message: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}
