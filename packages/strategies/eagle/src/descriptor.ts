import {
  DYNAMIC_TREE_OPTIONS,
  dynamicTreeOptions,
  trainedDrafterDescriptor,
} from '@decodekit/core';
import { eagle } from './eagle.js';
import { parseEagleWeights } from './eagle-weights.js';

/** `--strategy eagle[:weights=FILE,depth=D,topK=K,totalTokens=N]`; default: the committed stories260K drafter. */
export const eagleDescriptor = trainedDrafterDescriptor({
  id: 'eagle',
  packageName: '@decodekit/strategy-eagle',
  description:
    'EAGLE-2: a trained feature-level drafter with a dynamic draft tree (weights=FILE; default: the committed stories260K drafter; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  options: DYNAMIC_TREE_OPTIONS,
  parse: parseEagleWeights,
  drafter: (weights, options) => eagle({ weights, ...dynamicTreeOptions(options) }),
});
