import type { OptionDescriptor, StrategyDescriptor } from '@decodekit/core';
import { beamSearch } from './beam-search.js';

/** The `numReturnSequences` option of the beam-search descriptors (diverse beam search shares it). */
export const numReturnSequencesOption: OptionDescriptor = {
  type: 'integer',
  default: 1,
  min: 1,
  max: 256,
  help: 'Hypotheses decoder.search() returns (≤ numBeams; the CLI prints them with --format json).',
};

/** `--strategy beam-search`: beam search, streaming its best hypothesis. */
export const beamSearchDescriptor: StrategyDescriptor = {
  id: 'beam-search',
  packageName: '@decodekit/strategy-beam-search',
  description: 'beam search over forked sequences; streams the best hypothesis',
  returns: 'strategy',
  lossless: false,
  options: {
    numBeams: { type: 'integer', default: 4, min: 1, max: 256, help: 'Beams kept per step.' },
    lengthPenalty: {
      type: 'number',
      default: 1,
      help: 'Exponent of the length normalization of finished hypotheses.',
    },
    earlyStopping: {
      type: 'enum',
      values: ['true', 'false', 'never'],
      default: 'false',
      help: 'When the search stops (Hugging Face semantics).',
    },
    numReturnSequences: numReturnSequencesOption,
  },
  create: options => ({
    strategy: beamSearch({
      numBeams: options.numBeams as number | undefined,
      lengthPenalty: options.lengthPenalty as number | undefined,
      earlyStopping:
        options.earlyStopping === undefined
          ? undefined
          : options.earlyStopping === 'never'
            ? 'never'
            : options.earlyStopping === 'true',
      numReturnSequences: options.numReturnSequences as number | undefined,
    }),
  }),
};
