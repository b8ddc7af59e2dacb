import {
  DYNAMIC_TREE_OPTIONS,
  dynamicTreeOptions,
  trainedDrafterDescriptor,
} from '@decodekit/core';
import { fspad } from './fspad.js';
import { parseFspadWeights } from './fspad-weights.js';

/** `--strategy fspad[:weights=FILE,depth=D,topK=K,totalTokens=N]`; default: the committed stories260K drafter. */
export const fspadDescriptor = trainedDrafterDescriptor({
  id: 'fspad',
  packageName: '@decodekit/strategy-fspad',
  description:
    'FSPAD: a trained feature drafter with feature sampling and partial alignment, EAGLE-2 tree (weights=FILE; default: the committed stories260K drafter; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  options: DYNAMIC_TREE_OPTIONS,
  parse: parseFspadWeights,
  drafter: (weights, options) => fspad({ weights, ...dynamicTreeOptions(options) }),
});
