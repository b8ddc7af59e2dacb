import {
  invariant,
  InvalidArgumentError,
  VocabMismatchError,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import { ContinuationLogLikelihood } from './continuation-log-likelihood.js';
import type { RankGenScorer } from './rankgen.js';

/** How a candidate's log-likelihood becomes its score. */
export type LikelihoodNormalization = 'mean' | 'sum';

/** Options of `likelihoodScorer`. */
export interface LikelihoodScorerOptions {
  /** `'mean'` (default): mean token log-probability; `'sum'`: total log-probability (favours short candidates). */
  normalize?: LikelihoodNormalization;
}

/** Options of `modelScorer`. */
export interface ModelScorerOptions extends LikelihoodScorerOptions {
  /** The scoring model, e.g. llama2xs for stories260K. */
  model: CausalLM;
  /**
   * Used when the scoring model's vocabulary differs from the decoded model's: prompt and candidates are
   * re-encoded from their text. Defaults to the scoring model's `tokenizer`.
   */
  tokenizer?: Tokenizer;
}

function checkNormalize(normalize: LikelihoodNormalization): void {
  if (normalize !== 'mean' && normalize !== 'sum') {
    throw new InvalidArgumentError({
      argument: 'normalize',
      message: `must be 'mean' or 'sum', got ${String(normalize)}.`,
    });
  }
}

const normalized = (logLikelihood: number, tokens: number, normalize: LikelihoodNormalization) =>
  normalize === 'sum' || tokens === 0 ? logLikelihood : logLikelihood / tokens;

/**
 * Scores candidates by their log-likelihood under the decoded model itself (mean per token by default):
 * the "LM likelihood" reranker RankGen is compared against. One chain forward per candidate.
 *
 * @example
 * createDecoder({ model }).use(rankgen({ scorer: likelihoodScorer() }))
 */
export function likelihoodScorer({
  normalize = 'mean',
}: LikelihoodScorerOptions = {}): RankGenScorer {
  checkNormalize(normalize);
  let scorer: { model: CausalLM; likelihood: ContinuationLogLikelihood } | undefined;
  return {
    name: `likelihood(${normalize})`,
    async score({ model, prompt, candidates, signal }) {
      if (scorer?.model !== model) {
        scorer?.likelihood.dispose();
        scorer = { model, likelihood: new ContinuationLogLikelihood(model) };
      }
      const scores: number[] = [];
      for (const candidate of candidates) {
        scores.push(
          normalized(
            await scorer.likelihood.score(prompt, candidate.tokens, signal),
            candidate.tokens.length,
            normalize,
          ),
        );
      }
      return scores;
    },
    end() {
      scorer?.likelihood.dispose();
      scorer = undefined;
    },
  };
}

/**
 * Scores candidates by their log-likelihood under a second model (mean per token by default), e.g. a larger
 * model of the same family reranking a small model's samples. With the decoded model's vocabulary the ids are
 * scored as they are; otherwise prompt and candidates are re-encoded from text with the scoring model's
 * tokenizer.
 *
 * @example
 * rankgen({ scorer: modelScorer({ model: await loadModel('llama2xs') }) })
 */
export function modelScorer(options: ModelScorerOptions): RankGenScorer {
  const { model, normalize = 'mean' } = options;
  if (!model || typeof model.createSequence !== 'function') {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'needs a CausalLM (e.g. from loadModel()).',
    });
  }
  checkNormalize(normalize);
  const tokenizer = options.tokenizer ?? (model as { tokenizer?: Tokenizer }).tokenizer;
  const likelihood = new ContinuationLogLikelihood(model);
  return {
    name: `model-likelihood(${model.info.name}, ${normalize})`,
    async score({ model: decoded, prompt, promptText, candidates, signal }) {
      const sameVocabulary = decoded.info.vocabSize === model.info.vocabSize;
      if (!sameVocabulary && (!tokenizer || promptText === '')) {
        throw new VocabMismatchError({
          message: `The scoring model ${model.info.name} has ${model.info.vocabSize} tokens and the decoded model ${decoded.info.vocabSize}; re-encoding needs the scoring model's tokenizer and the decoded model's (pass rankgen({ tokenizer })).`,
        });
      }
      const scoringTokenizer = tokenizer;
      const encode = (text: string): number[] => {
        invariant(
          scoringTokenizer !== undefined,
          'a different vocabulary was checked to come with a tokenizer',
        );
        return scoringTokenizer.encode(text);
      };
      const scoringPrompt = sameVocabulary ? prompt : encode(promptText);
      const scores: number[] = [];
      for (const candidate of candidates) {
        let continuation = candidate.tokens;
        if (!sameVocabulary) {
          const all = encode(promptText + candidate.text);
          let common = 0;
          while (common < scoringPrompt.length && all[common] === scoringPrompt[common]) common++;
          continuation = all.slice(common);
          const head = scoringPrompt.slice(0, common);
          scores.push(
            normalized(
              await likelihood.score(head, continuation, signal),
              continuation.length,
              normalize,
            ),
          );
          continue;
        }
        scores.push(
          normalized(
            await likelihood.score(scoringPrompt, continuation, signal),
            continuation.length,
            normalize,
          ),
        );
      }
      return scores;
    },
    end: () => likelihood.dispose(),
  };
}
