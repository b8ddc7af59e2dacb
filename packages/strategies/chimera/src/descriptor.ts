import {
  DYNAMIC_TREE_OPTIONS,
  dynamicTreeOptions,
  trainedDrafterDescriptor,
} from '@decodekit/core';
import { chimera } from './chimera.js';
import { parseChimeraWeights } from './chimera-weights.js';

/** `--strategy chimera[:weights=FILE,depth=D,topK=K,totalTokens=N]`; default: the committed stories260K drafter. */
export const chimeraDescriptor = trainedDrafterDescriptor({
  id: 'chimera',
  packageName: '@decodekit/strategy-chimera',
  description:
    'Chimera: a trigram MLP and one fusing decoder layer over the target hidden states, heads from the LM head, EAGLE-2 tree (weights=FILE; default: the committed stories260K drafter; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  options: DYNAMIC_TREE_OPTIONS,
  parse: parseChimeraWeights,
  drafter: (weights, options) => chimera({ weights, ...dynamicTreeOptions(options) }),
});
