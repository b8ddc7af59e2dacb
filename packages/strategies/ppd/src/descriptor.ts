import { readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { fusedPpdTree, ppd } from './ppd.js';
import { parsePpdWeights } from './ppd-weights.js';

/** The committed prompt tokens for stories260K (`decodekit train ppd` reproduces them). */
const DEFAULT_WEIGHTS = new URL('../weights/stories260K/weights.json', import.meta.url).href;

/** `--strategy ppd[:weights=FILE,treeSize=N]`. */
export const ppdDescriptor: StrategyDescriptor = {
  id: 'ppd',
  packageName: '@decodekit/strategy-ppd',
  description:
    'PPD: trained prompt tokens appended through input embeddings draft a sparse tree, fused into the verification forward (weights=FILE, default the committed stories260K prompt tokens; lossless)',
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
      help: 'Keep the N best paths of the sparse tree (default: all).',
    },
    fused: {
      type: 'boolean',
      help: 'Prompt rows ride in the verification forward, one target forward per step (default true); false: a second forward per step.',
    },
    promptNodes: {
      type: 'integer',
      min: 0,
      max: 1024,
      help: 'Fused: tree nodes (best first) that carry prompt rows besides the pending token (default 0).',
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
    const fused = options.fused !== false;
    // The trees list paths best first with parents before children, so any prefix is a tree.
    const full = fused ? fusedPpdTree(weights.tree) : weights.tree;
    const tree = options.treeSize === undefined ? full : full.slice(0, options.treeSize as number);
    const promptNodes =
      options.promptNodes === undefined ? undefined : (options.promptNodes as number);
    return { drafter: ppd({ weights, tree, fused, promptNodes }) };
  },
};
