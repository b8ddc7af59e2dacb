export {
  EOW_ID,
  ETOK_BLOCK_TENSORS,
  FIRST_CHAR_ID,
  PAD_ID,
  UNK_ID,
  canvasLength,
  charVocabSize,
  checkEtokConfig,
  checkEtokWeights,
  etokCharset,
  etokWeightShapes,
  parseEtokConfig,
  splitWords,
} from './etok-config.js';
export type { EtokCharset, EtokConfig, EtokWeights } from './etok-config.js';
export { learnYourTokens } from './learn-your-tokens.js';
export type {
  EtokCallOptions,
  EtokEvent,
  EtokGenerateOptions,
  EtokModel,
  EtokResult,
  EtokStats,
  LearnYourTokensDecoder,
} from './learn-your-tokens.js';
export { onnxEtokModel } from './onnx-etok-model.js';
export type {
  EtokGraphs,
  EtokOrtRuntime,
  EtokOrtSession,
  EtokOrtTensor,
  OnnxEtokModel,
} from './onnx-etok-model.js';
