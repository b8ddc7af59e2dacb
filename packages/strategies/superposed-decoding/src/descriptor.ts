import type { StrategyDescriptor } from '@decodekit/core';
import { ngramModel } from './ngram-model.js';
import { selfGeneratedCorpus } from './self-generated-corpus.js';
import { superposedStrategy } from './superposed-decoding.js';

/** `--strategy superposed-decoding`: k drafts from one forward per step; streams the best one. */
export const superposedDecodingDescriptor: StrategyDescriptor = {
  id: 'superposed-decoding',
  packageName: '@decodekit/strategy-superposed-decoding',
  description:
    'superposed decoding: k drafts from one forward per step (n-grams of 200 self-sampled stories); streams the best draft',
  returns: 'strategy',
  lossless: false,
  options: {
    numDrafts: {
      type: 'integer',
      default: 3,
      min: 1,
      max: 64,
      help: 'Drafts superposed per forward.',
    },
    alpha: {
      type: 'number',
      default: 0.54,
      min: 0,
      max: 1,
      help: 'Weight of the n-gram model in the draft scores (0: none).',
    },
  },
  async create(options, environment) {
    const alpha = (options.alpha as number | undefined) ?? 0.54;
    let ngrams;
    if (alpha > 0) {
      const key = `superposed/${environment.model.info.name.replaceAll('/', '--')}.json`;
      const cached = await environment.cache?.get(key);
      let corpus: number[][];
      if (cached) {
        corpus = JSON.parse(new TextDecoder().decode(cached)) as number[][];
      } else {
        environment.log?.(
          `building superposed decoding's n-gram corpus from 200 stories sampled from ${environment.model.info.name} (once)...`,
        );
        corpus = await selfGeneratedCorpus(environment.model);
        await environment.cache?.set(key, new TextEncoder().encode(JSON.stringify(corpus)));
      }
      ngrams = ngramModel(corpus);
    }
    return {
      strategy: superposedStrategy({
        numDrafts: options.numDrafts as number | undefined,
        alpha,
        ngrams,
      }),
    };
  },
};
