import { readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { medusa } from './medusa.js';
import { parseMedusaWeights } from './medusa-weights.js';

/** The committed heads for stories260K (`decodekit train medusa` reproduces them). */
const DEFAULT_WEIGHTS = new URL('../weights/stories260K/weights.json', import.meta.url).href;

/** `--strategy medusa[:weights=FILE,treeSize=N]`. */
export const medusaDescriptor: StrategyDescriptor = {
  id: 'medusa',
  packageName: '@decodekit/strategy-medusa',
  description:
    'Medusa: trained heads over the last hidden state draft a sparse tree (weights=FILE, default the committed stories260K heads; lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    weights: {
      type: 'string',
      help: 'Heads from `decodekit train medusa` (default: the committed stories260K heads).',
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
    const weights = parseMedusaWeights(
      new TextDecoder().decode(
        await readOptionFile(
          environment,
          'medusa',
          file,
          `write one with \`decodekit train medusa --out DIR\` and pass DIR/weights.json.`,
        ),
      ),
      file,
    );
    // The stored tree lists paths best first with parents before children, so any prefix is a tree.
    const tree =
      options.treeSize === undefined
        ? weights.tree
        : weights.tree.slice(0, options.treeSize as number);
    return { drafter: medusa({ weights, tree }) };
  },
};
