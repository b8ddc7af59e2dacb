export { specdecPP, specdecPPDrafter } from './specdec-pp.js';
export type {
  SpecDecPPDrafter,
  SpecDecPPOptions,
  DraftRecord,
  DraftRecorder,
} from './specdec-pp.js';
export {
  acceptanceFeatureVector,
  fitLogisticRegression,
  logisticAcceptanceHead,
  parseAcceptanceHead,
} from './acceptance-head.js';
export type {
  AcceptanceFeatures,
  AcceptanceHead,
  LogisticAcceptanceHead,
  LogisticFit,
  LogisticFitOptions,
  LogisticHeadJSON,
} from './acceptance-head.js';
export {
  collectAcceptanceSamples,
  evaluateAcceptanceHead,
  fitAcceptanceHead,
  fitAcceptanceHeadOnSamples,
  rocAuc,
} from './fit-acceptance-head.js';
export type {
  AcceptanceSample,
  Calibration,
  CollectOptions,
  FitAcceptanceHeadOptions,
  ReliabilityBin,
} from './fit-acceptance-head.js';
export { specdecPPDescriptor } from './descriptor.js';
export { fitHeadForPair } from './fit-head-for-pair.js';
export { defaultAcceptanceHead } from './descriptor.js';
