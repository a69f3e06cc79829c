/** Where a stream resumes: the seq a reconnecting client already has (`Last-Event-ID`, `since`). */

import type { IncomingMessage } from 'node:http';
import { ErrorCode, YStateError } from '@ystate/core';

const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/**
 * The seq a request resumes from: its `Last-Event-ID` header (what a reconnecting EventSource
 * sends, newer than the URL it was opened with), else `given` (`forwardedProps.ystate.since`),
 * else `?since=`. INVALID_VALUE when it is not a seq.
 */
export function resumePointOf(req: IncomingMessage, given?: unknown): number | undefined {
  const header = req.headers['last-event-id'];
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('since') ?? undefined;
  const [where, raw] =
    typeof header === 'string' && header.trim() !== ''
      ? ['Last-Event-ID', header.trim()]
      : given !== undefined
        ? ['forwardedProps.ystate.since', typeof given === 'number' ? String(given) : given]
        : ['since', query];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !SEQ.test(raw)) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `${where} must be a seq (a whole number such as 12), not ${JSON.stringify(raw)}`,
    });
  }
  return Number(raw);
}
