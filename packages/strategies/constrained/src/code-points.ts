import { byteSet, type GrammarBuilder, type GrammarElement } from './grammar-ir.js';

/** Sorted, disjoint, inclusive code point ranges. */
export type CodePointRanges = [number, number][];

export const MAX_CODE_POINT = 0x10ffff;
const SURROGATES: [number, number] = [0xd800, 0xdfff];

/** Sorts and merges ranges. */
export function normalizeRanges(ranges: readonly (readonly [number, number])[]): CodePointRanges {
  const sorted = ranges
    .filter(([lo, hi]) => lo <= hi)
    .map(([lo, hi]) => [lo, hi] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const out: CodePointRanges = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else out.push(range);
  }
  return out;
}

/** Every scalar value (code points without surrogates) not in `ranges`. */
export function complementRanges(ranges: CodePointRanges): CodePointRanges {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of normalizeRanges([...ranges, SURROGATES])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return normalizeRanges(out);
}

/** `a` minus `b`. */
export function subtractRanges(a: CodePointRanges, b: CodePointRanges): CodePointRanges {
  return intersectRanges(a, complementRanges(b));
}

/** `a` ∩ `b` (surrogates always removed). */
export function intersectRanges(a: CodePointRanges, b: CodePointRanges): CodePointRanges {
  const out: [number, number][] = [];
  for (const [alo, ahi] of a)
    for (const [blo, bhi] of b)
      if (Math.max(alo, blo) <= Math.min(ahi, bhi))
        out.push([Math.max(alo, blo), Math.min(ahi, bhi)]);
  const withoutSurrogates: [number, number][] = [];
  for (const [lo, hi] of normalizeRanges(out)) {
    if (hi < SURROGATES[0] || lo > SURROGATES[1]) withoutSurrogates.push([lo, hi]);
    else {
      if (lo < SURROGATES[0]) withoutSurrogates.push([lo, SURROGATES[0] - 1]);
      if (hi > SURROGATES[1]) withoutSurrogates.push([SURROGATES[1] + 1, hi]);
    }
  }
  return withoutSurrogates;
}

/** Every Unicode scalar value. */
export const ALL_CODE_POINTS: CodePointRanges = complementRanges([]);

function encode(codePoint: number): number[] {
  return [...new TextEncoder().encode(String.fromCodePoint(codePoint))];
}

const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff, MAX_CODE_POINT];

/**
 * Splits a scalar range into sequences of byte ranges whose product is exactly the UTF-8 encodings of the
 * range (the classic utf8-ranges construction: split at encoding-length boundaries, then wherever a
 * continuation byte would not cover its full 0x80–0xBF span).
 */
function utf8Sequences(lo: number, hi: number, out: [number, number][][]): void {
  for (let n = 0; n < LENGTH_LIMITS.length - 1; n++) {
    const limit = LENGTH_LIMITS[n];
    if (lo <= limit && hi > limit) {
      utf8Sequences(lo, limit, out);
      utf8Sequences(limit + 1, hi, out);
      return;
    }
  }
  if (hi <= 0x7f) {
    out.push([[lo, hi]]);
    return;
  }
  for (let i = 1; i < 4; i++) {
    const mask = (1 << (6 * i)) - 1;
    if ((lo & ~mask) !== (hi & ~mask)) {
      if ((lo & mask) !== 0) {
        utf8Sequences(lo, lo | mask, out);
        utf8Sequences((lo | mask) + 1, hi, out);
        return;
      }
      if ((hi & mask) !== mask) {
        utf8Sequences(lo, (hi & ~mask) - 1, out);
        utf8Sequences(hi & ~mask, hi, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((byte, i) => [byte, b[i]]));
}

/** Alternatives (byte-range sequences) matching the UTF-8 encoding of exactly one code point of `ranges`. */
export function utf8Alternatives(
  builder: GrammarBuilder,
  ranges: CodePointRanges,
): GrammarElement[][] {
  void builder;
  const sequences: [number, number][][] = [];
  for (const [lo, hi] of intersectRanges(ranges, ALL_CODE_POINTS)) utf8Sequences(lo, hi, sequences);
  // Merge single-byte sequences into one set.
  const singles = sequences.filter(seq => seq.length === 1).map(seq => seq[0]);
  const alternatives: GrammarElement[][] = sequences
    .filter(seq => seq.length > 1)
    .map(seq => seq.map(range => ({ kind: 'bytes', set: byteSet(range) }) as GrammarElement));
  if (singles.length > 0) alternatives.unshift([{ kind: 'bytes', set: byteSet(...singles) }]);
  return alternatives;
}

/** One grammar element matching one code point of `ranges` (memoized per set). */
export function codePointElement(builder: GrammarBuilder, ranges: CodePointRanges): GrammarElement {
  const key = `cp:${ranges.map(([lo, hi]) => `${lo}-${hi}`).join(',')}`;
  const alternatives = utf8Alternatives(builder, ranges);
  if (alternatives.length === 1 && alternatives[0].length === 1) return alternatives[0][0];
  return builder.memoRule(key, () => alternatives);
}
