import { describe, expect, it } from 'vitest';
import { closeCodeOf, ErrorCode, httpStatusOf, YStateError } from './errors.js';

describe('YStateError', () => {
  it('every code has an HTTP status and a 4xxx WebSocket close code derived from it', () => {
    for (const code of Object.values(ErrorCode)) {
      const status = httpStatusOf(code);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(closeCodeOf(code)).toBe(4000 + status);
    }
  });

  it('serializes to the documented JSON error body and keeps its cause', () => {
    const cause = new Error('root');
    const error = new YStateError({ code: ErrorCode.PATH_NOT_FOUND, message: 'nothing at "/a"', cause });
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      error: { code: 'PATH_NOT_FOUND', message: 'nothing at "/a"' },
    });
  });
});
