import {
  DYNAMIC_TREE_OPTIONS,
  dynamicTreeOptions,
  trainedDrafterDescriptor,
} from '@decodekit/core';
import { falcon } from './falcon.js';
import { parseFalconWeights } from './falcon-weights.js';

/** `--strategy falcon[:weights=FILE,depth=D,topK=K,totalTokens=N]`; default: the committed stories260K drafter. */
export const falconDescriptor = trainedDrafterDescriptor({
  id: 'falcon',
  packageName: '@decodekit/strategy-falcon',
  description:
    'Falcon: a semi-autoregressive feature drafter emitting two tokens per forward (glancing distillation), EAGLE-2 tree (weights=FILE; default: the committed stories260K drafter; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  options: DYNAMIC_TREE_OPTIONS,
  parse: parseFalconWeights,
  drafter: (weights, options) => falcon({ weights, ...dynamicTreeOptions(options) }),
});
