import { InvalidArgumentError } from '../errors.js';
import type { RandomSource } from '../types.js';

/** A RandomSource whose whole state is four 32-bit words. */
export interface SeededRandom extends RandomSource {
  clone(): SeededRandom;
}

/**
 * A seeded RandomSource: xoshiro128** (Blackman and Vigna, https://prng.di.unimi.it/) whose 128-bit
 * state is filled from the seed with splitmix32. Pure 32-bit integer arithmetic, so the same seed gives
 * the same numbers in every JavaScript engine. `next()` returns 53 random bits in [0, 1).
 *
 * @param seed Any safe integer (negative and > 2^32 seeds are distinct seeds too).
 */
export function seededRandom(seed: number): SeededRandom {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be a safe integer, got ${String(seed)}.`,
    });
  }
  // splitmix32 over the low and high words of the seed.
  let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) | 0, 0x9e3779b9);
  const nextMix = () => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const state = new Uint32Array([nextMix(), nextMix(), nextMix(), nextMix()]);
  // xoshiro's all-zero state is a fixed point; splitmix cannot produce four zeros in a row, but be safe.
  if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) state[0] = 1;
  return fromState(state);
}

function fromState(state: Uint32Array): SeededRandom {
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(state[1], 5), 7), 9) >>> 0;
    const t = state[1] << 9;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  return {
    next() {
      // 27 + 26 bits = a uniformly distributed multiple of 2^-53.
      const high = nextUint32() >>> 5;
      const low = nextUint32() >>> 6;
      return (high * 67108864 + low) / 9007199254740992;
    },
    clone: () => fromState(state.slice()),
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
