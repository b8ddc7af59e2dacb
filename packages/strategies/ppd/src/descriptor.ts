import { readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { ppd } from './ppd.js';
import { parsePpdWeights } from './ppd-weights.js';

/** The committed prompt tokens for stories260K (`decodekit train ppd` reproduces them). */
const DEFAULT_WEIGHTS = new URL('../weights/stories260K/weights.json', import.meta.url).href;

/** `--strategy ppd[:weights=FILE,treeSize=N]`. */
export const ppdDescriptor: StrategyDescriptor = {
  id: 'ppd',
  packageName: '@decodekit/strategy-ppd',
  description:
    'PPD: trained prompt tokens appended through input embeddings draft a sparse tree (weights=FILE, default the committed stories260K prompt tokens; lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    weights: {
      type: 'string',
      help: 'Prompt tokens from `decodekit train ppd` (default: the committed stories260K prompt tokens).',
    },
    treeSize: {
      type: 'integer',
      min: 1,
      max: 1024,
      help: 'Keep the N best paths of the stored sparse tree (default: all).',
    },
  },
  async create(options, environment) {
    const file = typeof options.weights === 'string' ? options.weights : DEFAULT_WEIGHTS;
    const weights = parsePpdWeights(
      new TextDecoder().decode(
        await readOptionFile(
          environment,
          'ppd',
          file,
          `write one with \`decodekit train ppd --out DIR\` and pass DIR/weights.json.`,
        ),
      ),
      file,
    );
    // The stored tree lists paths best first with parents before children, so any prefix is a tree.
    const tree =
      options.treeSize === undefined
        ? weights.tree
        : weights.tree.slice(0, options.treeSize as number);
    return { drafter: ppd({ weights, tree }) };
  },
};
