export { beamSearch, createBeamSearch, resolveBeamOptions } from './beam-search.js';
export type {
  BeamGenerateArgs,
  BeamGenerateResult,
  BeamHypothesis,
  BeamSearch,
  BeamSearchOptions,
} from './beam-search.js';
export { searchBeams } from './search-beams.js';
export type { BeamForwardMode, SearchBeamsInput, SearchBeamsResult } from './search-beams.js';
export { BeamHypotheses } from './beam-hypotheses.js';
export type { EarlyStopping, ScoredHypothesis } from './beam-hypotheses.js';
export { beamSearchDescriptor, numReturnSequencesOption } from './descriptor.js';
