import { ErrorCode } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { isConnectionError, isRolledBack, storeError } from './errors.js';

function withCode(code: string): Error {
  return Object.assign(new Error(`failed with ${code}`), { code });
}

describe('PostgreSQL errors', () => {
  it('count a lost or refused connection as unavailable, a refused statement as a storage failure', () => {
    for (const error of [
      withCode('ECONNREFUSED'),
      new Error('Connection terminated unexpectedly'),
      withCode('08006'),
      withCode('57P01'),
      withCode('57P03'),
      withCode('53300'),
    ]) {
      expect(isConnectionError(error), error.message).toBe(true);
      expect(storeError(error, 'appending').code).toBe(ErrorCode.LOG_UNAVAILABLE);
    }
    for (const error of [withCode('23505'), withCode('42P01'), withCode('22P02')]) {
      expect(isConnectionError(error), error.message).toBe(false);
      expect(storeError(error, 'appending').code).toBe(ErrorCode.STORAGE_FAILED);
    }
    expect(isConnectionError('not an error')).toBe(false);
  });

  it('know which failures certainly rolled back', () => {
    expect(isRolledBack(withCode('40001'))).toBe(true);
    expect(isRolledBack(withCode('40P01'))).toBe(true);
    expect(isRolledBack(withCode('57P01'))).toBe(false);
    expect(isRolledBack(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('keep the cause and say what failed', () => {
    const cause = withCode('23505');
    const error = storeError(cause, 'appending to "projects/42"');
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('appending to "projects/42" failed');
    expect(storeError(error, 'again')).toBe(error);
  });
});
