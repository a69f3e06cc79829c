/**
 * The failures an operator can expect when a server starts (the port is taken, the store is locked
 * or unreachable), told in one line: the cause and what to do. Anything else is a bug or an
 * unforeseen condition and keeps its stack trace.
 */

import { ErrorCode, YStateError } from '@ystate/core';

/** Where the server was to listen, for the advice. */
export interface ListenTarget {
  port: number;
  host: string;
}

/** One line saying why the start failed and what to do, or undefined for an unexpected failure. */
export function explainStartFailure(error: unknown, target: ListenTarget): string | undefined {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return `port ${target.port} on ${target.host} is already in use: stop the process that listens on ${where}, or choose another port with --port (0 picks a free one)`;
    case 'EACCES':
      return `no permission to listen on ${where}: ports below 1024 need privileges; choose a port from 1024 with --port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${target.host} is not an address of this machine; check --host (127.0.0.1 for this machine only, 0.0.0.0 for every interface)`;
  }
  if (!(error instanceof YStateError)) return undefined;
  switch (error.code) {
    case ErrorCode.STORE_LOCKED:
      return error.message;
    case ErrorCode.LOG_UNAVAILABLE:
      return `${error.message}; check the URL (--redis / --postgres or their YSTATE_* variables) and that the server runs and accepts connections from here`;
    case ErrorCode.INVALID_CONFIG:
      return error.message;
    default:
      return undefined;
  }
}
