/** Descriptor pieces shared by the strategies that ship trained weights (Medusa, EAGLE, FSPAD, Chimera). */
import {
  readOptionFile,
  type OptionDescriptor,
  type OptionValues,
  type StrategyDescriptor,
} from '../catalog/strategy-descriptor.js';
import type { Drafter } from '../strategy.js';

/** EAGLE-2's dynamic tree options (`featureDrafter`'s depth, topK and totalTokens), with their defaults. */
export const DYNAMIC_TREE_OPTIONS: Readonly<Record<string, OptionDescriptor>> = {
  depth: { type: 'integer', default: 6, min: 1, max: 64, help: 'Draft tree depth.' },
  topK: { type: 'integer', default: 4, min: 1, max: 64, help: 'Children expanded per node.' },
  totalTokens: {
    type: 'integer',
    default: 24,
    min: 1,
    max: 1024,
    help: 'Draft nodes kept after reranking (EAGLE-2).',
  },
};

/** The dynamic tree options of parsed descriptor options. */
export function dynamicTreeOptions(options: OptionValues): {
  depth?: number;
  topK?: number;
  totalTokens?: number;
} {
  return {
    depth: options.depth as number | undefined,
    topK: options.topK as number | undefined,
    totalTokens: options.totalTokens as number | undefined,
  };
}

/** What `trainedDrafterDescriptor` needs. */
export interface TrainedDrafterDescriptorOptions<TWeights> {
  /** Strategy id, as in `--strategy <id>` and `decodekit train <id>`. */
  id: string;
  packageName: string;
  description: string;
  /** URL (`new URL('../weights/stories260K/weights.json', import.meta.url).href`) of the committed weights. */
  defaultWeights: string;
  /** What the weights are, in the option help ("drafter", "heads"). Default "drafter". */
  noun?: string;
  /** Options besides `weights`. */
  options: Readonly<Record<string, OptionDescriptor>>;
  /** Parses a weights file; `source` names it in errors. */
  parse: (json: string, source: string) => TWeights;
  /** Makes the drafter from parsed weights and the other options. */
  drafter: (weights: TWeights, options: OptionValues) => Drafter;
}

/**
 * The descriptor of a strategy that drafts with trained weights: `--strategy <id>[:weights=FILE,...]`,
 * reading FILE (default: the committed stories260K weights) through the environment; a missing file says
 * how to train one.
 */
export function trainedDrafterDescriptor<TWeights>({
  id,
  packageName,
  description,
  defaultWeights,
  noun = 'drafter',
  options,
  parse,
  drafter,
}: TrainedDrafterDescriptorOptions<TWeights>): StrategyDescriptor {
  const what = noun.charAt(0).toUpperCase() + noun.slice(1);
  return {
    id,
    packageName,
    description,
    returns: 'drafter',
    lossless: true,
    options: {
      weights: {
        type: 'string',
        help: `${noun === 'drafter' ? 'A drafter' : what} from \`decodekit train ${id}\` (default: the committed stories260K ${noun}).`,
      },
      ...options,
    },
    async create(values, environment) {
      const file = typeof values.weights === 'string' ? values.weights : defaultWeights;
      const bytes = await readOptionFile(
        environment,
        id,
        file,
        `write one with \`decodekit train ${id} --out DIR\` and pass DIR/weights.json.`,
      );
      return { drafter: drafter(parse(new TextDecoder().decode(bytes), file), values) };
    },
  };
}
