/**
 * The CLI's pino logger: JSON lines for machines, or one readable line per record on a terminal
 * (a small formatter here rather than pino-pretty's worker thread and dependencies).
 */

import { logRedaction } from '@ystate/core';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogFormat, LogLevel } from './serve-options.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Record<number, string> = {
  40: '\x1b[33m',
  50: '\x1b[31m',
  60: '\x1b[31m',
  20: '\x1b[2m',
};
/** Fields every record has, not repeated on the pretty line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** Creates the process logger, by default writing synchronously to stdout (so nothing is lost at exit). */
export function createLogger(
  level: LogLevel,
  format: LogFormat,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  // Request URLs lose their query values, and tokens, Authorization and cookies are masked.
  const options = { level, base: { pid: process.pid }, redact: logRedaction };
  // A reader that went away (`ystate serve | head`) must not take the server down with it.
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  if (format === 'json') {
    return pino(options, out === process.stdout ? pino.destination({ fd: 1, sync: true }) : out);
  }
  return pino(options, prettyDestination(out, out.isTTY === true));
}

function prettyDestination(out: NodeJS.WritableStream, color: boolean): DestinationStream {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const level = typeof record.level === 'number' ? record.level : 30;
      const time = new Date(typeof record.time === 'number' ? record.time : Date.now());
      const clock = time.toTimeString().slice(0, 8);
      const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
      const message = String(record.msg ?? '');
      const fields = Object.entries(record)
        // A field the message already spells out is noise on a terminal line.
        .filter(([key, value]) => !HIDDEN.has(key) && !(typeof value === 'string' && message.includes(value)))
        .map(([key, value]) => `${key}=${formatField(value)}`)
        .join(' ');
      const tint = color ? (LEVEL_COLORS[level] ?? '') : '';
      const reset = tint ? '\x1b[0m' : '';
      out.write(
        `${clock} ${tint}${name}${reset} ${String(record.msg ?? '')}${fields ? `  ${fields}` : ''}\n`,
      );
    },
  };
}

function formatField(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value && 'type' in value) {
    // pino's serialized error: show the message, the stack only at the end of the line.
    const error = value as { type: unknown; message: unknown; stack?: unknown };
    return `${String(error.type)}: ${String(error.message)}${typeof error.stack === 'string' ? `\n${error.stack}` : ''}`;
  }
  return JSON.stringify(value);
}
