import { InvalidArgumentError } from '@decodekit/core';
import {
  createBeamSearch,
  resolveBeamOptions,
  type BeamSearch,
  type BeamSearchOptions,
} from '@decodekit/strategy-beam-search';

/** Options of `diverseBeamSearch`: beam search's, plus groups and the diversity strength. */
export interface DiverseBeamSearchOptions extends BeamSearchOptions {
  /** Beam groups G; `numBeams` must be a multiple. Default: `numBeams` (one beam per group, best in the paper). */
  numGroups?: number;
  /**
   * λ: each use of a token by an earlier group at the same step lowers its score by λ (Hamming diversity).
   * Default 0.5 (the official code's default; the paper finds λ in [0.2, 0.8] best).
   */
  diversityPenalty?: number;
}

/**
 * Diverse Beam Search (Vijayakumar et al., 2016, https://arxiv.org/abs/1610.02424) with Hugging Face's
 * group beam search semantics: the beams are split into G groups decoded in order at every step; group g
 * adds `−λ · (uses of the token by groups < g at this step)` to each candidate's score, and its beams
 * accumulate these augmented scores (as the official Lua code and Hugging Face do). Each group keeps its
 * own finished hypotheses; the returned ones are the best over all groups. G = 1 is beam search.
 *
 * @example
 * const search = diverseBeamSearch({ numBeams: 4, numGroups: 4, diversityPenalty: 0.5, numReturnSequences: 4 });
 * const { hypotheses } = await createDecoder({ model }).use(search).search('Once upon a time', { maxTokens: 32 });
 */
export function diverseBeamSearch(options: DiverseBeamSearchOptions = {}): BeamSearch {
  const resolved = resolveBeamOptions(options);
  const numGroups = options.numGroups ?? resolved.numBeams;
  if (!Number.isInteger(numGroups) || numGroups < 1 || resolved.numBeams % numGroups !== 0) {
    throw new InvalidArgumentError({
      argument: 'numGroups',
      message: `must be a positive integer dividing numBeams (${resolved.numBeams}), got ${numGroups}.`,
    });
  }
  const diversityPenalty = options.diversityPenalty ?? 0.5;
  if (!Number.isFinite(diversityPenalty) || diversityPenalty < 0) {
    throw new InvalidArgumentError({
      argument: 'diversityPenalty',
      message: `must be a finite number ≥ 0, got ${diversityPenalty}.`,
    });
  }
  const name =
    numGroups === 1 ? 'beam-search' : `diverse-beam-search(G=${numGroups}, λ=${diversityPenalty})`;
  return createBeamSearch(name, resolved, numGroups, diversityPenalty);
}
