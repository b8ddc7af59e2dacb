import type { StrategyDescriptor } from '@decodekit/core';
import { numReturnSequencesOption } from '@decodekit/strategy-beam-search';
import { diverseBeamSearch } from './diverse-beam-search.js';

/** `--strategy diverse-beam-search`: diverse beam search, streaming its best hypothesis. */
export const diverseBeamSearchDescriptor: StrategyDescriptor = {
  id: 'diverse-beam-search',
  packageName: '@decodekit/strategy-diverse-beam-search',
  description: 'diverse beam search (groups with Hamming diversity); streams the best hypothesis',
  returns: 'strategy',
  lossless: false,
  options: {
    numBeams: { type: 'integer', default: 4, min: 1, max: 256, help: 'Beams over all groups.' },
    numGroups: {
      type: 'integer',
      min: 1,
      max: 256,
      help: 'Beam groups (default numBeams: one beam per group); numBeams must be a multiple.',
    },
    diversityPenalty: {
      type: 'number',
      default: 0.5,
      min: 0,
      help: 'Hamming diversity strength λ.',
    },
    lengthPenalty: { type: 'number', default: 1, help: 'Exponent of the length normalization.' },
    numReturnSequences: numReturnSequencesOption,
  },
  create: options => ({
    strategy: diverseBeamSearch({
      numBeams: options.numBeams as number | undefined,
      numGroups: options.numGroups as number | undefined,
      diversityPenalty: options.diversityPenalty as number | undefined,
      lengthPenalty: options.lengthPenalty as number | undefined,
      numReturnSequences: options.numReturnSequences as number | undefined,
    }),
  }),
};
