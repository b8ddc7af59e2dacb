import {
  createDecoder,
  readOptionFile,
  secondModelOf,
  type CausalLM,
  type StrategyDescriptor,
} from '@decodekit/core';
import { parseAcceptanceHead } from './acceptance-head.js';
import { fitHeadForPair } from './fit-head-for-pair.js';
import { specdecPP } from './specdec-pp.js';

/**
 * SpecDec++'s default acceptance head for a target/draft pair: fitted on 20 prompts sampled from the target
 * itself (T = 0 labels, rejection weight 6), as JSON.
 */
export async function defaultAcceptanceHead(
  target: CausalLM & { tokenizer?: { decode(ids: readonly number[]): string } },
  draft: CausalLM,
): Promise<string> {
  const decoder = createDecoder({ model: target });
  const prompts: string[] = [];
  for (let seed = 0; seed < 20; seed++) {
    const { text } = await decoder.generate(
      { tokens: [target.info.bosTokenId ?? 1] },
      { maxTokens: 24, temperature: 1, seed },
    );
    prompts.push(text.split(/(?<=[.!?])\s/)[0] || text);
  }
  const fit = await fitHeadForPair({
    target,
    draft,
    prompts,
    holdout: 4,
    temperature: 0,
    rejectionWeight: 6,
  });
  return `${JSON.stringify(fit.head.toJSON())}\n`;
}

/** `--strategy specdec-pp --draft-model REF[:head=FILE]`. */
export const specdecPPDescriptor: StrategyDescriptor = {
  id: 'specdec-pp',
  packageName: '@decodekit/strategy-specdec-pp',
  description:
    'SpecDec++: stop drafting when a fitted acceptance head predicts a rejection (head=FILE from `decodekit specdec-pp fit`, default fitted once and cached; needs --draft-model)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    head: {
      type: 'string',
      help: 'An acceptance head from `decodekit specdec-pp fit` (default: fitted once per pair and cached).',
    },
    threshold: {
      type: 'number',
      default: 0.3,
      min: 0,
      max: 1,
      help: 'Stop drafting when P(some draft token is rejected) exceeds it.',
    },
    maxLength: { type: 'integer', default: 20, min: 1, max: 256, help: 'Longest draft.' },
    temperature: {
      type: 'number',
      default: 0,
      min: 0,
      help: 'Draft temperature (0 = greedy drafts).',
    },
  },
  async create(options, environment) {
    const draft = secondModelOf(environment, 'specdec-pp');
    let json: string;
    if (typeof options.head === 'string') {
      json = new TextDecoder().decode(
        await readOptionFile(
          environment,
          'specdec-pp',
          options.head,
          'fit one with `decodekit specdec-pp fit --draft-model REF --out FILE`.',
        ),
      );
    } else {
      const key = `specdec-pp/${`${environment.model.info.name}--${draft.info.name}`.replaceAll('/', '--')}.json`;
      const cached = await environment.cache?.get(key);
      if (cached) json = new TextDecoder().decode(cached);
      else {
        environment.log?.(
          `fitting SpecDec++'s acceptance head for ${environment.model.info.name} / ${draft.info.name} (once)...`,
        );
        json = await defaultAcceptanceHead(environment.model, draft);
        await environment.cache?.set(key, new TextEncoder().encode(json));
      }
    }
    return {
      strategy: specdecPP({
        model: draft,
        head: parseAcceptanceHead(json),
        threshold: options.threshold as number | undefined,
        maxLength: options.maxLength as number | undefined,
        temperature: options.temperature as number | undefined,
      }),
    };
  },
};
