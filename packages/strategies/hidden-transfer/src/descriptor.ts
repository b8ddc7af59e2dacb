import { trainedDrafterDescriptor } from '@decodekit/core';
import { hiddenTransfer } from './hidden-transfer.js';
import { parseHiddenTransferWeights } from './hidden-transfer-weights.js';

/** `--strategy hidden-transfer[:weights=FILE,treeSize=N]`; default: the committed stories260K projections. */
export const hiddenTransferDescriptor = trainedDrafterDescriptor({
  id: 'hidden-transfer',
  packageName: '@decodekit/strategy-hidden-transfer',
  description:
    'Hidden Transfer: trained projections of a middle layer’s hidden state run through the remaining layers draft a sparse tree (weights=FILE, default the committed stories260K projections; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  noun: 'projections',
  options: {
    treeSize: {
      type: 'integer',
      min: 1,
      max: 1024,
      help: 'Keep the N best paths of the stored sparse tree (default: all).',
    },
  },
  parse: parseHiddenTransferWeights,
  // The stored tree lists paths best first with parents before children, so any prefix is a tree.
  drafter: (weights, options) =>
    hiddenTransfer({
      weights,
      tree:
        options.treeSize === undefined
          ? weights.tree
          : weights.tree.slice(0, options.treeSize as number),
    }),
});
