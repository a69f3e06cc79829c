/**
 * `--docs PATTERN`: which documents a command works on, by docId segments (`projects/*` is one
 * segment below `projects`, `runs/**` any depth), the same matching the backup archive uses.
 */

import { compilePattern } from '@ystate/core';
import { z } from 'zod';

/** A docId pattern as a flag value; invalid patterns are usage errors. */
export const docPatternSchema = z
  .string()
  .trim()
  .min(1, 'expected a pattern such as projects/* or runs/**')
  .refine(
    (pattern) => {
      try {
        compilePattern(`/${pattern}`);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected a pattern of docId segments such as projects/* or runs/**' },
  );

/** The ids matching `pattern` (all without one), sorted. */
export function selectDocIds(docIds: readonly string[], pattern: string | undefined): string[] {
  const compiled = pattern === undefined ? undefined : compilePattern(`/${pattern}`);
  return docIds.filter((id) => compiled?.matches(id.split('/')) ?? true).sort();
}
