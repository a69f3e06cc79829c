import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.js';
import { formatPointer, parsePointer } from './pointer.js';

describe('JSON Pointer (RFC 6901)', () => {
  it('parses the RFC examples', () => {
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/')).toEqual(['']);
    expect(parsePointer('/foo/0')).toEqual(['foo', '0']);
    expect(parsePointer('/a~1b')).toEqual(['a/b']);
    expect(parsePointer('/m~0n')).toEqual(['m~n']);
    expect(parsePointer('/~01')).toEqual(['~1']);
  });

  it('refuses malformed pointers with INVALID_POINTER', () => {
    for (const bad of ['foo', '/a~', '/a~2', '#/a']) {
      expect(() => parsePointer(bad)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_POINTER }));
    }
  });

  it('format and parse are inverse for any segments', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (segments) => {
        expect(parsePointer(formatPointer(segments))).toEqual(segments);
      }),
    );
  });
});
