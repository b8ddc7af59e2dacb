import { trainedDrafterDescriptor } from '@decodekit/core';
import { medusa } from './medusa.js';
import { parseMedusaWeights } from './medusa-weights.js';

/** `--strategy medusa[:weights=FILE,treeSize=N]`; default: the committed stories260K heads. */
export const medusaDescriptor = trainedDrafterDescriptor({
  id: 'medusa',
  packageName: '@decodekit/strategy-medusa',
  description:
    'Medusa: trained heads over the last hidden state draft a sparse tree (weights=FILE, default the committed stories260K heads; lossless)',
  defaultWeights: new URL('../weights/stories260K/weights.json', import.meta.url).href,
  noun: 'heads',
  options: {
    treeSize: {
      type: 'integer',
      min: 1,
      max: 1024,
      help: 'Keep the N best paths of the stored sparse tree (default: all).',
    },
  },
  parse: parseMedusaWeights,
  // The stored tree lists paths best first with parents before children, so any prefix is a tree.
  drafter: (weights, options) =>
    medusa({
      weights,
      tree:
        options.treeSize === undefined
          ? weights.tree
          : weights.tree.slice(0, options.treeSize as number),
    }),
});
