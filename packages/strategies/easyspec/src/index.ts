import { easySpec as easyspecDrafter } from './easyspec.js';

/**
 * EasySpec's layer-parallel drafter (the package returns only a Drafter, so it carries the package's id).
 */
export const easyspec: typeof easyspecDrafter = easyspecDrafter;
/** @deprecated Renamed `easyspec` (docs/architecture.md, "Factory names"); this alias goes in the next minor. */
export const easySpec: typeof easyspecDrafter = easyspecDrafter;
export type { EasySpecDrafter, EasySpecOptions } from './easyspec.js';
export { layerParallelLlama } from './layer-parallel-llama.js';
export type {
  DraftLlamaConfig,
  DraftLlamaWeights,
  LayerParallelLlama,
} from './layer-parallel-llama.js';
