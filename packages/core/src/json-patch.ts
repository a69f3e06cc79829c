/** RFC 6902 JSON Patch operations, and the check that turns untrusted input into them. */

import { ErrorCode, YStateError } from './errors.js';
import { assertJson, isPlainObject, type Json } from './json.js';

/** RFC 6902 `add`: insert into an array or set an object member. */
export type AddOperation = { op: 'add'; path: string; value: Json };
/** RFC 6902 `remove`: delete the value at `path`. */
export type RemoveOperation = { op: 'remove'; path: string };
/** RFC 6902 `replace`: replace the existing value at `path`. */
export type ReplaceOperation = { op: 'replace'; path: string; value: Json };
/** RFC 6902 `move`: remove the value at `from` and add it at `path`. */
export type MoveOperation = { op: 'move'; from: string; path: string };
/** RFC 6902 `copy`: add a copy of the value at `from` at `path`. */
export type CopyOperation = { op: 'copy'; from: string; path: string };
/** RFC 6902 `test`: the whole patch is refused (PATCH_TEST_FAILED) unless `path` holds `value`. */
export type TestOperation = { op: 'test'; path: string; value: Json };

/** One RFC 6902 operation. */
export type PatchOperation =
  | AddOperation
  | RemoveOperation
  | ReplaceOperation
  | MoveOperation
  | CopyOperation
  | TestOperation;

/** An RFC 6902 JSON Patch: operations applied in order, all or nothing. */
export type JsonPatch = PatchOperation[];

const withValue = new Set(['add', 'replace', 'test']);
const withFrom = new Set(['move', 'copy']);

/**
 * Checks that untrusted input is a well-formed JSON Patch; throws INVALID_PATCH naming the first
 * fault, or INVALID_VALUE when an operation's value has no JSON form.
 */
export function parsePatch(input: unknown): JsonPatch {
  if (!Array.isArray(input)) throw invalidPatch('a JSON Patch must be an array of operations');
  return input.map((operation, i) => {
    if (!isPlainObject(operation)) throw invalidPatch(`operation ${i} is not an object`);
    const { op, path } = operation;
    if (typeof op !== 'string' || !(withValue.has(op) || withFrom.has(op) || op === 'remove')) {
      throw invalidPatch(`operation ${i} has unknown op ${JSON.stringify(op)}`);
    }
    if (typeof path !== 'string') throw invalidPatch(`operation ${i} (${op}) needs a string "path"`);
    if (withValue.has(op)) {
      if (!('value' in operation)) throw invalidPatch(`operation ${i} (${op}) needs a "value"`);
      try {
        assertJson(operation.value);
      } catch (cause) {
        // A well-formed operation whose value has no JSON form: the same code as the path API
        // and the update gate give for it (docs/architecture.md, "What a document may hold").
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new YStateError({
          code: ErrorCode.INVALID_VALUE,
          message: `operation ${i} (${op}) has a value with no JSON form: ${detail}`,
          cause,
        });
      }
    }
    if (withFrom.has(op) && typeof operation.from !== 'string') {
      throw invalidPatch(`operation ${i} (${op}) needs a string "from"`);
    }
    return operation as PatchOperation;
  });
}

function invalidPatch(message: string, cause?: unknown): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_PATCH, message, cause });
}
