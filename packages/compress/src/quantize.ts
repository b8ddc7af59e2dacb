/**
 * Deterministic integer quantization of a model's next-token distribution into an arithmetic-coding frequency
 * table. Every step after the float32 logits is either an IEEE-754 basic operation (subtraction,
 * multiplication, division: correctly rounded on every engine) or exact integer arithmetic below 2^53; `exp`
 * is replaced by a fixed table of 2^(-r/16), so no libm function (whose last bit may differ between
 * JavaScript engines) is involved. Same logits in, same table out, on every machine.
 */
import { BackendError } from '@decodekit/core';
import type { Alphabet } from './alphabet.js';

/** Steps per bit of the log-probability grid: logits are rounded to 1/16 bit before exponentiation. */
export const GRID_STEPS_PER_BIT = 16;
/** Below 2^-40 of the most likely token, a token gets only the floor frequency of 1. */
const MAX_STEPS = GRID_STEPS_PER_BIT * 40;
/** round(2^(-r/16) · 2^28) for r = 0..15 (checked against Math.pow in the tests; literals, not computed). */
const EXP2_TABLE = [
  268435456, 257054673, 246156398, 235720175, 225726413, 216156353, 206992033, 198216250, 189812531,
  181765103, 174058859, 166679334, 159612677, 152845623, 146365470, 140160054,
];

/** @internal exposed for the tests */
export const exp2Table: readonly number[] = EXP2_TABLE;

/** Reusable buffers of {@link quantizeLogits}. */
export interface QuantizeScratch {
  readonly steps: Int32Array;
  readonly weights: Float64Array;
  /** The quantized frequencies. [symbols] */
  readonly frequencies: Uint32Array;
  /** The cumulative table: `cumulative[s] .. cumulative[s + 1]` is symbol s's interval. [symbols + 1] */
  readonly cumulative: Uint32Array;
}

/** Buffers for an alphabet. */
export function quantizeScratch(alphabet: Alphabet): QuantizeScratch {
  return {
    steps: new Int32Array(alphabet.vocabSize),
    weights: new Float64Array(alphabet.vocabSize),
    frequencies: new Uint32Array(alphabet.symbolCount),
    cumulative: new Uint32Array(alphabet.symbolCount + 1),
  };
}

/**
 * Quantizes one logits row [vocab] into `scratch.frequencies` with total `2^precision`:
 * - a token with bytes (`alphabet.codable`) gets `1 + floor(w · spare / Σw)` where `w = 2^(-k/16)` in 28-bit
 *   fixed point, `k = round((max - logit) · log2 e · 16)`, and `spare = total - (codable tokens + escapes)`:
 *   every codable token has frequency ≥ 1, so any input stays encodable;
 * - an escape symbol (a byte no single-byte token covers) gets 1; tokens without bytes (BOS, EOS, padding
 *   rows) get 0: they never occur in the coded stream;
 * - the rounding remainder goes to the most likely token.
 *
 * @throws BackendError when a logit is NaN.
 */
export function quantizeLogits(
  logits: Float32Array,
  alphabet: Alphabet,
  precision: number,
  scratch: QuantizeScratch,
): Uint32Array {
  const { vocabSize, codable, symbolCount, codableCount } = alphabet;
  const { steps, weights, frequencies } = scratch;
  let max = -Infinity;
  for (let token = 0; token < vocabSize; token++) {
    if (!codable[token]) continue;
    const logit = logits[token];
    if (Number.isNaN(logit)) {
      throw new BackendError({
        message: `The model returned NaN for token ${token}; it cannot drive a compressor.`,
      });
    }
    if (logit > max) max = logit;
  }
  let argmax = -1;
  let weightSum = 0;
  for (let token = 0; token < vocabSize; token++) {
    if (!codable[token]) continue;
    const logit = logits[token];
    // All -Infinity (a model that bans everything) degrades to the uniform table.
    const step =
      max === -Infinity
        ? 0
        : logit === -Infinity
          ? MAX_STEPS
          : Math.min(MAX_STEPS, Math.round((max - logit) * Math.LOG2E * GRID_STEPS_PER_BIT));
    steps[token] = step;
    if (step === 0 && argmax < 0) argmax = token;
    const weight = Math.floor(EXP2_TABLE[step & 15] / 2 ** (step >> 4));
    weights[token] = weight;
    weightSum += weight;
  }
  const total = 2 ** precision;
  const spare = total - codableCount - (symbolCount - vocabSize);
  let sum = 0;
  for (let token = 0; token < vocabSize; token++) {
    // weights[token] · spare ≤ 2^28 · 2^24: exact.
    const frequency = codable[token] ? 1 + Math.floor((weights[token] * spare) / weightSum) : 0;
    frequencies[token] = frequency;
    sum += frequency;
  }
  for (let symbol = vocabSize; symbol < symbolCount; symbol++) {
    frequencies[symbol] = 1;
    sum += 1;
  }
  frequencies[argmax] += total - sum;
  return frequencies;
}

/** The cumulative table of `frequencies` into `cumulative` [symbols + 1]. */
export function accumulate(frequencies: Uint32Array, cumulative: Uint32Array): Uint32Array {
  cumulative[0] = 0;
  for (let symbol = 0; symbol < frequencies.length; symbol++)
    cumulative[symbol + 1] = cumulative[symbol] + frequencies[symbol];
  return cumulative;
}
