/**
 * fast-check arbitraries for the gate's tests: JSON a careless or hostile writer sends — lone
 * UTF-16 surrogates in strings and keys, `__proto__`, `constructor`/`prototype`, huge numbers,
 * nesting beyond the documented limit. Values come as JSON text, so that `__proto__` stays an own
 * key (as `JSON.parse` makes it) and lone surrogates stay escaped on the wire.
 */

import fc from 'fast-check';

const hostileString = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('\ud800', 'a\udc00b', '\udbff\udfff', '__proto__', 'constructor', 'prototype', '\u0000'),
);

/** An object key: ordinary, or one the gate must refuse or keep as an own property. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'k\ud800'),
);

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0),
);

const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString.map((s) => JSON.stringify(s)),
    number.map((n) => JSON.stringify(n)),
    fc.constantFrom('true', 'null'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(hostileKey, tie('value')), { maxLength: 3 })
      .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** Nesting deeper than the documented limit of 64. */
const deepText = fc.integer({ min: 60, max: 90 }).map((depth) => `${'['.repeat(depth)}1${']'.repeat(depth)}`);

/** A hostile JSON value, as JSON text. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: valueText },
  { weight: 1, arbitrary: deepText },
);

/** A JSON Pointer segment for `key` (RFC 6901 escapes). */
export function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
