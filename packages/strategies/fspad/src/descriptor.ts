import { readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { fspad } from './fspad.js';
import { parseFspadWeights } from './fspad-weights.js';

/** The committed drafter for stories260K (`decodekit train fspad` reproduces it). */
const DEFAULT_WEIGHTS = new URL('../weights/stories260K/weights.json', import.meta.url).href;

/** `--strategy fspad[:weights=FILE,depth=D,topK=K,totalTokens=N]`. */
export const fspadDescriptor: StrategyDescriptor = {
  id: 'fspad',
  packageName: '@decodekit/strategy-fspad',
  description:
    'FSPAD: a trained feature drafter with feature sampling and partial alignment, EAGLE-2 tree (weights=FILE; default: the committed stories260K drafter; lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    weights: {
      type: 'string',
      help: 'A drafter from `decodekit train fspad` (default: the committed stories260K drafter).',
    },
    depth: { type: 'integer', default: 6, min: 1, max: 64, help: 'Draft tree depth.' },
    topK: { type: 'integer', default: 4, min: 1, max: 64, help: 'Children expanded per node.' },
    totalTokens: {
      type: 'integer',
      default: 24,
      min: 1,
      max: 1024,
      help: 'Draft nodes kept after reranking (EAGLE-2).',
    },
  },
  async create(options, environment) {
    const file = typeof options.weights === 'string' ? options.weights : DEFAULT_WEIGHTS;
    const weights = parseFspadWeights(
      new TextDecoder().decode(
        await readOptionFile(
          environment,
          'fspad',
          file,
          `write one with \`decodekit train fspad --out DIR\` and pass DIR/weights.json.`,
        ),
      ),
      file,
    );
    return {
      drafter: fspad({
        weights,
        depth: options.depth as number | undefined,
        topK: options.topK as number | undefined,
        totalTokens: options.totalTokens as number | undefined,
      }),
    };
  },
};
