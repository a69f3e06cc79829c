import { ErrorCode, isYStateError } from '@ystate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { docIdOfStem, fileStemOf, MAX_STEM_LENGTH } from './file-names.js';

const safeStem = /^(?:[a-z0-9\-_!~'()]|%[0-9A-F]{2})+$/;
const reserved = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** Any well-formed docId whose stem fits. */
const docIdArbitrary = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1 }),
    fc.string({ minLength: 1 }),
  )
  .filter((docId) => {
    try {
      return encodeURIComponent(docId).length * 3 < MAX_STEM_LENGTH;
    } catch {
      return false;
    }
  });

describe('file names of docIds', () => {
  it('maps every docId to a safe stem and back', () => {
    fc.assert(
      fc.property(docIdArbitrary, (docId) => {
        const stem = fileStemOf(docId);
        expect(stem).toMatch(safeStem);
        expect(stem).not.toMatch(reserved);
        expect(docIdOfStem(stem)).toBe(docId);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives ids that differ only in case different names on case-insensitive file systems', () => {
    fc.assert(
      fc.property(docIdArbitrary, docIdArbitrary, (a, b) => {
        fc.pre(a !== b);
        expect(fileStemOf(a).toLowerCase()).not.toBe(fileStemOf(b).toLowerCase());
      }),
      { numRuns: 2000 },
    );
    expect(fileStemOf('Doc').toLowerCase()).not.toBe(fileStemOf('doc').toLowerCase());
  });

  it('escapes what file systems treat specially', () => {
    expect(fileStemOf('projects/42')).toBe('projects%2F42');
    expect(fileStemOf('..')).toBe('%2E%2E');
    expect(fileStemOf('a b/é')).toBe('a%20b%2F%C3%A9');
    expect(fileStemOf('Doc')).toBe('%44oc');
    expect(fileStemOf('con')).toBe('%63on');
    expect(fileStemOf('lpt1')).toBe('%6Cpt1');
    expect(fileStemOf('a*b')).toBe('a%2Ab');
  });

  it('refuses empty, ill-formed and too long ids with INVALID_VALUE', () => {
    for (const docId of [
      '',
      '\uDC00x',
      'a'.repeat(MAX_STEM_LENGTH + 1),
      'é'.repeat(MAX_STEM_LENGTH / 6 + 1),
    ]) {
      let thrown: unknown;
      try {
        fileStemOf(docId);
      } catch (error) {
        thrown = error;
      }
      expect(isYStateError(thrown, ErrorCode.INVALID_VALUE), docId).toBe(true);
    }
  });

  it('does not take stems it would not write as docIds', () => {
    for (const stem of ['Upper', '%zz', 'a.b', '%2e', '%61', 'con', ''])
      expect(docIdOfStem(stem)).toBeUndefined();
  });
});
