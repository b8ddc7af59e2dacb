/**
 * The lossless strategies the soak and concurrency tests run, made fresh for a (target, draft) pair: at
 * T = 0 every one must give exactly autoregressive decoding's tokens.
 */
import { autoregressive, speculative, type CausalLM, type Strategy } from '@decodekit/core';
import { aded, buildAdedStoreFromTokens } from '@decodekit/strategy-aded';
import { copyspec } from '@decodekit/strategy-copyspec';
import { draftModel } from '@decodekit/strategy-draft-model';
import { dyspec } from '@decodekit/strategy-dyspec';
import { lookaheadDecoding } from '@decodekit/strategy-lookahead';
import { lud } from '@decodekit/strategy-lud';
import { onlineSpeculative } from '@decodekit/strategy-online-sd';
import { pearl } from '@decodekit/strategy-pearl';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { rsd } from '@decodekit/strategy-rsd';
import { s2d } from '@decodekit/strategy-s2d';
import { spectr } from '@decodekit/strategy-spectr';
import { swift } from '@decodekit/strategy-swift';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';

/** Names of {@link losslessStrategies}, in a fixed order. */
export const LOSSLESS_STRATEGY_NAMES = [
  'ar',
  'prompt-lookup',
  'token-recycling',
  'copyspec',
  'lookahead',
  'aded',
  'draft-model',
  'swift',
  'spectr',
  'rsd',
  'dyspec',
  'pearl',
  'online-sd',
  'lud',
  's2d',
] as const;

export type LosslessStrategyName = (typeof LOSSLESS_STRATEGY_NAMES)[number];

/**
 * One factory per lossless strategy. `adedDocuments` are token sequences for ADED's tri-gram store (e.g. AR
 * outputs); `draft` is a smaller model with the target's vocabulary.
 */
export function losslessStrategies({ draft, adedDocuments }: { draft: CausalLM; adedDocuments: readonly (readonly number[])[] }): Record<LosslessStrategyName, () => Strategy> {
  const store = buildAdedStoreFromTokens(adedDocuments);
  return {
    ar: () => autoregressive(),
    'prompt-lookup': () => speculative({ drafter: promptLookup() }),
    'token-recycling': () => speculative({ drafter: tokenRecycling(), budget: 16 }),
    copyspec: () => speculative({ drafter: copyspec({ fallback: tokenRecycling() }), budget: 16 }),
    lookahead: () => lookaheadDecoding({ windowSize: 4, ngramSize: 3, guessSetSize: 2 }),
    aded: () => speculative({ drafter: aded({ store }), budget: 16, adaptive: false }),
    'draft-model': () => speculative({ drafter: draftModel({ model: draft }) }),
    swift: () => swift(),
    spectr: () => spectr({ model: draft }),
    rsd: () => rsd({ model: draft }),
    dyspec: () => dyspec({ model: draft }),
    pearl: () => pearl({ model: draft }),
    'online-sd': () => onlineSpeculative({ model: draft }),
    // Lossless only with threshold > 1 (every multi-token step is then verified).
    lud: () => lud({ threshold: 1.5 }),
    s2d: () => s2d({ draft }).strategy(),
  };
}
