import {
  ALL_CODE_POINTS,
  normalizeRanges,
  subtractRanges,
  intersectRanges,
  utf8Alternatives,
  type CodePointRanges,
} from './code-points.js';
import { byteSet, type GrammarBuilder, type GrammarElement } from './grammar-ir.js';

/** Largest magnitude of a generated integer part: 15 digits, so every value is an exact double. */
export const MAX_INTEGER_PART = 999_999_999_999_999;
/** Most digits of a generated fractional part. */
export const MAX_FRACTION_DIGITS = 15;

const SPECIAL: CodePointRanges = [
  [0x00, 0x1f],
  [0x22, 0x22],
  [0x5c, 0x5c],
];
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

/**
 * One character of `ranges` as it appears inside a JSON string: UTF-8 bytes, except `"`, `\` and control
 * characters, which are written with their shortest escape (`\"`, `\\`, `\n`, ..., `\u00XX`).
 */
export function jsonCharacter(builder: GrammarBuilder, ranges: CodePointRanges): GrammarElement {
  const key = `json-char:${ranges.map(([lo, hi]) => `${lo}-${hi}`).join(',')}`;
  return builder.memoRule(key, () => {
    const alternatives = utf8Alternatives(builder, subtractRanges(ranges, SPECIAL));
    for (const [lo, hi] of intersectRanges(ranges, normalizeRanges(SPECIAL))) {
      for (let cp = lo; cp <= hi; cp++) {
        alternatives.push(
          builder.text(SHORT_ESCAPES[cp] ?? `\\u${cp.toString(16).padStart(4, '0')}`),
        );
      }
    }
    return alternatives;
  });
}

/** A JSON string of `min`..`max` characters (code points, as JSON Schema counts them). */
export function jsonString(builder: GrammarBuilder, min = 0, max = Infinity): GrammarElement[] {
  const char = jsonCharacter(builder, ALL_CODE_POINTS);
  return [
    ...builder.text('"'),
    ...builder.repeat('string-char', char, min, max),
    ...builder.text('"'),
  ];
}

const digit = (lo: number, hi: number): GrammarElement => ({
  kind: 'bytes',
  set: byteSet([0x30 + lo, 0x30 + hi]),
});

/** Alternatives for same-length decimal strings in [lo, hi] (digit by digit, the classic range-to-regex split). */
function sameLengthRange(lo: string, hi: string): GrammarElement[][] {
  const n = lo.length;
  if (n === 0) return [[]];
  const l0 = Number(lo[0]);
  const h0 = Number(hi[0]);
  const loRest = lo.slice(1);
  const hiRest = hi.slice(1);
  if (l0 === h0) return sameLengthRange(loRest, hiRest).map(seq => [digit(l0, l0), ...seq]);
  const out: GrammarElement[][] = [];
  const anyDigits = (count: number): GrammarElement[] =>
    Array.from({ length: count }, () => digit(0, 9));
  let first = l0;
  if (!/^0*$/.test(loRest)) {
    out.push(...sameLengthRange(loRest, '9'.repeat(n - 1)).map(seq => [digit(l0, l0), ...seq]));
    first = l0 + 1;
  }
  let last = h0;
  const tail: GrammarElement[][] = [];
  if (!/^9*$/.test(hiRest)) {
    tail.push(...sameLengthRange('0'.repeat(n - 1), hiRest).map(seq => [digit(h0, h0), ...seq]));
    last = h0 - 1;
  }
  if (first <= last) out.push([digit(first, last), ...anyDigits(n - 1)]);
  out.push(...tail);
  return out;
}

/** Alternatives for the decimal (no leading zeros) integers in [lo, hi], 0 ≤ lo ≤ hi. */
export function naturalRange(lo: number, hi: number): GrammarElement[][] {
  const out: GrammarElement[][] = [];
  const loDigits = String(lo).length;
  const hiDigits = String(hi).length;
  for (let length = loDigits; length <= hiDigits; length++) {
    const from = length === loDigits ? lo : 10 ** (length - 1);
    const to = length === hiDigits ? hi : 10 ** length - 1;
    out.push(...sameLengthRange(String(from), String(to)));
  }
  return out;
}

/** Numeric bounds of a JSON Schema (undefined = unbounded). */
export interface NumericBounds {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

function integerInterval(bounds: NumericBounds): [number, number] {
  let lo = -MAX_INTEGER_PART;
  let hi = MAX_INTEGER_PART;
  if (bounds.minimum !== undefined) lo = Math.max(lo, Math.ceil(bounds.minimum));
  if (bounds.exclusiveMinimum !== undefined)
    lo = Math.max(lo, Math.floor(bounds.exclusiveMinimum) + 1);
  if (bounds.maximum !== undefined) hi = Math.min(hi, Math.floor(bounds.maximum));
  if (bounds.exclusiveMaximum !== undefined)
    hi = Math.min(hi, Math.ceil(bounds.exclusiveMaximum) - 1);
  return [lo, hi];
}

/** Alternatives for the integers in [lo, hi] with an optional minus sign (never "-0"). */
function signedIntegers(builder: GrammarBuilder, lo: number, hi: number): GrammarElement[][] {
  const out: GrammarElement[][] = [];
  if (hi >= 0 && lo <= hi) out.push(...naturalRange(Math.max(0, lo), hi));
  if (lo < 0 && lo <= hi) {
    const magnitudes = naturalRange(Math.max(1, -hi), -lo);
    out.push([...builder.text('-'), builder.choice('negative', magnitudes)]);
  }
  return out;
}

/** JSON integers within the bounds (integer parts of at most 15 digits). */
export function jsonInteger(builder: GrammarBuilder, bounds: NumericBounds): GrammarElement[][] {
  const [lo, hi] = integerInterval(bounds);
  return signedIntegers(builder, lo, hi);
}

/**
 * JSON numbers within the bounds: every integer in range, plus decimals `I.F` (1–15 fraction digits) whose
 * whole open unit interval (I, I+1) — or (−I−1, −I) for negatives — lies inside the bounds. No exponents.
 * This is a subset of the valid numbers (e.g. with minimum 0.5 the value 0.7 is never produced), always sound.
 */
export function jsonNumber(builder: GrammarBuilder, bounds: NumericBounds): GrammarElement[][] {
  const out = jsonInteger(builder, bounds);
  const lower = Math.max(bounds.minimum ?? -Infinity, bounds.exclusiveMinimum ?? -Infinity);
  const upper = Math.min(bounds.maximum ?? Infinity, bounds.exclusiveMaximum ?? Infinity);
  const fraction = builder.memoRule('fraction', () => [
    [
      ...builder.text('.'),
      ...builder.repeat('fraction-digit', digit(0, 9), 1, MAX_FRACTION_DIGITS),
    ],
  ]);
  // Positive: I ≥ lower and I + 1 ≤ upper.
  const posLo = Math.max(0, Math.ceil(lower));
  const posHi = Math.min(MAX_INTEGER_PART, Math.floor(upper) - 1);
  if (posLo <= posHi)
    out.push([builder.choice('integer-part', naturalRange(posLo, posHi)), fraction]);
  // Negative: −(I + 1) ≥ lower and −I ≤ upper.
  const negLo = Math.max(0, Math.ceil(-upper));
  const negHi = Math.min(MAX_INTEGER_PART, Math.floor(-lower) - 1);
  if (negLo <= negHi)
    out.push([
      ...builder.text('-'),
      builder.choice('integer-part', naturalRange(negLo, negHi)),
      fraction,
    ]);
  return out;
}

/** Any JSON value (compact: no whitespace), as one memoized rule. Recursive through objects and arrays. */
export function jsonValue(builder: GrammarBuilder): GrammarElement {
  return builder.memoRule('json-value', () => {
    const value: GrammarElement = builder.memoRule('json-value', () => []);
    const string = builder.group('json-string', jsonString(builder));
    const member = builder.rule('json-member', [[string, ...builder.text(':'), value]]);
    const memberTail = builder.rule('json-member-tail', [[...builder.text(','), member]]);
    const item = builder.rule('json-item-tail', [[...builder.text(','), value]]);
    return [
      [
        ...builder.text('{'),
        builder.choice('members', [
          [member, ...builder.repeat('members', memberTail, 0, Infinity)],
          [],
        ]),
        ...builder.text('}'),
      ],
      [
        ...builder.text('['),
        builder.choice('items', [[value, ...builder.repeat('items', item, 0, Infinity)], []]),
        ...builder.text(']'),
      ],
      [string],
      ...jsonNumber(builder, {}),
      builder.text('true'),
      builder.text('false'),
      builder.text('null'),
    ];
  });
}
