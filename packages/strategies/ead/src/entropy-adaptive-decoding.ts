import { InvalidArgumentError, VocabMismatchError } from '@decodekit/core';
import type { CausalLM, Sequence, Strategy, StrategyContext } from '@decodekit/core';

/** Options of `entropyAdaptiveDecoding()`. */
export interface EadOptions {
  /** The small model M_S. Must share the large (decoder's) model's tokenizer and vocabulary. */
  small: CausalLM;
  /**
   * τ in bits: the large model generates while the rolling mean entropy exceeds it, the small model while
   * it does not. `Infinity` = small model only, `-Infinity` = large model only. Required: the paper sweeps
   * it, and a good value depends on the pair (see the README for a sweep on llama2xs → stories260K).
   */
  threshold: number;
  /** w: entropies averaged in the rolling mean (the paper's w = 5). Default 5. */
  window?: number;
  /**
   * d_min: tokens the current model must have generated before a switch is allowed (anti-flapping).
   * Default 1. The first token of a generation may always switch.
   */
  minStay?: number;
  /** Model generating the first token's entropy. Default `'small'`. */
  start?: 'small' | 'large';
}

/** Counts of one generation (or, in `totals`, of all generations). */
export interface EadStats {
  /** Tokens emitted from the small model's distribution. */
  smallTokens: number;
  /** Tokens emitted from the large model's distribution. */
  largeTokens: number;
  /** Model switches. */
  switches: number;
  /** Forward calls of each model. */
  smallForwards: number;
  largeForwards: number;
}

/** The EAD strategy with its counters. */
export interface EadStrategy extends Strategy {
  readonly name: 'ead';
  readonly lossless: false;
  /** Counts of the last finished (or running) generation. */
  readonly lastStats: Readonly<EadStats>;
  /** Counts summed over every generation of this strategy. */
  readonly totals: Readonly<EadStats>;
}

const LN2 = Math.log(2);

/**
 * Shannon entropy in bits of `softmax(logits)` (no temperature): H = −Σ p_i log2 p_i.
 * @param logits raw next-token logits [vocab]
 */
export function entropyBits(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return 0;
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < logits.length; i++) {
    const shifted = logits[i] - max;
    if (shifted === -Infinity) continue;
    const weight = Math.exp(shifted);
    sum += weight;
    weighted += weight * shifted;
  }
  // H = log Z − E[l − max], with Z = Σ e^(l − max); in nats, then bits.
  return Math.max(0, (Math.log(sum) - weighted / sum) / LN2);
}

function zeroStats(): EadStats {
  return { smallTokens: 0, largeTokens: 0, switches: 0, smallForwards: 0, largeForwards: 0 };
}

/**
 * Entropy Adaptive Decoding (Simmons, 2025, "Entropy Adaptive Decoding: Dynamic Model Switching for
 * Efficient Inference", https://arxiv.org/abs/2502.06833). **LOSSY by design**: the output is not the
 * large model's; it trades quality for speed.
 *
 * Each step the current model scores the next position; its entropy H_t (bits, before temperature and
 * processors) joins a rolling window of w steps. The model for the token is M_L when the mean H̄_t > τ,
 * M_S when H̄_t ≤ τ, and stays the previous one while it has generated fewer than d_min tokens (the
 * paper's eq. 4). On a switch the newly chosen model generates that token: it prefills the tokens it has
 * not seen yet (both KV sequences always hold a prefix of the same token sequence) and its processed
 * distribution is sampled with the decoder's processors and sampler.
 *
 * The decoder's model is M_L. With `threshold: -Infinity` the output is the large model's decoding
 * exactly; with `Infinity` the small model's.
 *
 * @example
 * const decoder = createDecoder({ model: large }).use(entropyAdaptiveDecoding({ small, threshold: 2.5 }));
 */
export function entropyAdaptiveDecoding(options: EadOptions): EadStrategy {
  const {
    small,
    threshold,
    window = 5,
    minStay = 1,
    start = 'small',
  } = options ?? ({} as EadOptions);
  if (!small || typeof small.createSequence !== 'function' || !small.info) {
    throw new InvalidArgumentError({
      argument: 'small',
      message:
        'entropyAdaptiveDecoding() needs the small CausalLM (e.g. from loadModel()); the decoder model is the large one.',
    });
  }
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be a number of bits (Infinity = small model only, -Infinity = large only), got ${String(threshold)}.`,
    });
  }
  if (!Number.isInteger(window) || window < 1) {
    throw new InvalidArgumentError({
      argument: 'window',
      message: `must be a positive integer, got ${String(window)}.`,
    });
  }
  if (!Number.isInteger(minStay) || minStay < 1) {
    throw new InvalidArgumentError({
      argument: 'minStay',
      message: `must be a positive integer, got ${String(minStay)}.`,
    });
  }
  if (start !== 'small' && start !== 'large') {
    throw new InvalidArgumentError({
      argument: 'start',
      message: `must be 'small' or 'large', got ${String(start)}.`,
    });
  }

  let lastStats = zeroStats();
  const totals = zeroStats();

  return {
    kind: 'strategy',
    name: 'ead',
    lossless: false,
    get lastStats() {
      return lastStats;
    },
    get totals() {
      return totals;
    },
    async run(context: StrategyContext) {
      const large = context.model;
      const vocabSize = large.info.vocabSize;
      if (small.info.vocabSize !== vocabSize) {
        throw new VocabMismatchError({
          message:
            `The small model "${small.info.name}" has ${small.info.vocabSize} tokens but the large model ` +
            `"${large.info.name}" has ${vocabSize}. EAD switches token by token, so both must use the same tokenizer.`,
        });
      }
      const stats = zeroStats();
      lastStats = stats;
      const smallSequence = small.createSequence();
      const entropies: number[] = [];
      let useLarge = start === 'large';
      let count = minStay; // tokens generated by the current model; the first step may switch

      /** Brings `sequence` to the context (all but the pending token) and returns logits after the pending one. */
      async function logitsOf(isLarge: boolean): Promise<Float32Array> {
        const sequence: Sequence = isLarge ? context.sequence : smallSequence;
        const tokens = context.tokens;
        // Both sequences only ever commit context tokens, so each holds a prefix of the context.
        const feed = Int32Array.from(tokens.slice(sequence.tokens.length));
        const { logits } = isLarge
          ? await context.forward({ tokens: feed })
          : await smallSequence.forward({ tokens: feed }, { signal: context.signal });
        sequence.commit(Array.from({ length: feed.length }, (_, i) => i));
        if (isLarge) stats.largeForwards++;
        else stats.smallForwards++;
        return logits.slice((feed.length - 1) * vocabSize, feed.length * vocabSize);
      }

      try {
        for (;;) {
          // The small model cannot go past its context window: the large one finishes the generation.
          if (!useLarge && context.tokens.length > small.info.contextLength) {
            useLarge = true;
            stats.switches++;
          }
          let logits = await logitsOf(useLarge);
          entropies.push(entropyBits(logits));
          if (entropies.length > window) entropies.shift();
          let mean = 0;
          for (const h of entropies) mean += h;
          mean /= entropies.length;
          const wantLarge = mean > threshold;
          const smallFits = context.tokens.length <= small.info.contextLength;
          if (wantLarge !== useLarge && count >= minStay && (wantLarge || smallFits)) {
            useLarge = wantLarge;
            count = 0;
            stats.switches++;
            logits = await logitsOf(useLarge);
          }
          context.processor.process(logits, context.processorState);
          const token = context.sampler.sample(logits, context.random);
          count++;
          if (useLarge) stats.largeTokens++;
          else stats.smallTokens++;
          if (!context.emit(token, useLarge ? 'target' : 'draft')) return;
        }
      } finally {
        smallSequence.dispose();
        for (const key of Object.keys(totals) as (keyof EadStats)[]) totals[key] += stats[key];
      }
    },
  };
}
