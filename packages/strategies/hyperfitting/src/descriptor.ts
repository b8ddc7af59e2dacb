import { InvalidArgumentError, readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { trainingNgramBlocker } from './hyperfitting.js';

/** `--strategy hyperfitting:sequences=FILE`: block the n-grams of a hyperfitted model's training sequences. */
export const hyperfittingDescriptor: StrategyDescriptor = {
  id: 'hyperfitting',
  packageName: '@decodekit/strategy-hyperfitting',
  description:
    "hyperfitting's blocker: never reproduce an n-gram of the fine-tuning sequences (a processor)",
  returns: 'processor',
  lossless: false,
  options: {
    sequences: {
      type: 'string',
      help: 'JSON file with the fine-tuning sequences (an array of token-id arrays), e.g. the one scripts/hyperfit.measure.ts writes.',
    },
    n: { type: 'integer', default: 4, min: 2, max: 64, help: 'n-gram length.' },
  },
  async create(options, environment) {
    const path = options.sequences as string | undefined;
    if (path === undefined) {
      throw new InvalidArgumentError({
        argument: 'strategy',
        message:
          '"hyperfitting" needs sequences=FILE (the fine-tuning sequences as JSON token-id arrays).',
      });
    }
    const bytes = await readOptionFile(environment, 'hyperfitting', path);
    let sequences: unknown;
    try {
      sequences = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new InvalidArgumentError({
        argument: 'strategy',
        message: `"hyperfitting": "${path}" is not JSON; it must be an array of token-id arrays.`,
      });
    }
    return {
      processors: [
        trainingNgramBlocker({
          sequences: sequences as number[][],
          n: options.n as number | undefined,
        }),
      ],
    };
  },
};
