export { easySpec } from './easyspec.js';
export type { EasySpecDrafter, EasySpecOptions } from './easyspec.js';
export { layerParallelLlama } from './layer-parallel-llama.js';
export type {
  DraftLlamaConfig,
  DraftLlamaWeights,
  LayerParallelLlama,
} from './layer-parallel-llama.js';
