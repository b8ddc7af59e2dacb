import {
  createDecoder,
  InvalidArgumentError,
  logSoftmax,
  type CausalLM,
  type GenerateOptions,
  type GenerateResult,
  type LogitsProcessor,
  type Prompt,
  type Sequence,
  type Strategy,
  type StrategyContext,
  type Tokenizer,
} from '@decodekit/core';

/** One continuation the scorer ranks. */
export interface RankGenCandidate {
  /** Generated ids after the prompt: this beam's whole continuation so far. */
  readonly tokens: readonly number[];
  /** `tokens` decoded (special tokens skipped); '' when no tokenizer is known. */
  readonly text: string;
  /** True when the continuation ended with EOS or reached the token limit. */
  readonly finished: boolean;
}

/** What a scorer gets: the prompt and every candidate of one rerank round. */
export interface RankGenScoreArgs {
  /** The model being decoded. */
  readonly model: CausalLM;
  /** Prompt ids as fed to the model. */
  readonly prompt: readonly number[];
  /** The prompt decoded; '' when no tokenizer is known. */
  readonly promptText: string;
  readonly candidates: readonly RankGenCandidate[];
  readonly signal?: AbortSignal;
}

/**
 * Ranks candidate continuations of a prompt; higher is better. RankGen's trained encoder (a T5 prefix and
 * suffix encoder scored by a dot product) is one such scorer; decodekit ships LM-likelihood scorers.
 */
export interface RankGenScorer {
  readonly name: string;
  /** One score per candidate, in order. Called once per rerank round with all candidates. */
  score(args: RankGenScoreArgs): Promise<ArrayLike<number>> | ArrayLike<number>;
  /** Called when a search ends (also on error or abort): release per-prompt caches. */
  end?(): void;
}

/** Options of `rankgen`. */
export interface RankGenOptions {
  /** Ranks the candidates. */
  scorer: RankGenScorer;
  /** Beams kept after each rerank (RankGen's `beam_size`). Default 2. */
  beamSize?: number;
  /** Continuations sampled per beam and round (`num_samples`). Default 10. */
  numSamples?: number;
  /**
   * Tokens sampled per round before reranking (`num_tokens`). Default 20. `numTokens ≥ maxTokens` with
   * `beamSize: 1` is over-generate-and-rerank.
   */
  numTokens?: number;
  /** Decodes candidates for text scorers; defaults to the model's `tokenizer` when it carries one. */
  tokenizer?: Tokenizer;
}

/** One final beam. */
export interface RankGenHypothesis {
  tokens: number[];
  text: string;
  /** The scorer's score in the last round it was ranked (NaN when it never had a competitor). */
  score: number;
}

/** Statistics of one RankGen search. */
export interface RankGenSearchStats {
  /** Rerank rounds. */
  rounds: number;
  /** Candidates handed to the scorer, over all rounds. */
  scoredCandidates: number;
  /** Single-token forwards of the model while sampling candidates. */
  sampleForwards: number;
}

/** Arguments of the deprecated `rankgen(...).generate`. */
export interface RankGenGenerateArgs {
  model: CausalLM;
  prompt: Prompt;
  /** Generation options (`maxTokens`, `temperature`, `topP`, `seed`, ...), as for `decoder.generate`. */
  options?: GenerateOptions;
  processors?: readonly LogitsProcessor<unknown>[];
  tokenizer?: Tokenizer;
}

/** The result of the deprecated `rankgen(...).generate`: the decoder's result for the best beam, plus every beam. */
export interface RankGenGenerateResult extends GenerateResult {
  /** The final beams, best first. */
  hypotheses: RankGenHypothesis[];
  search: RankGenSearchStats;
}

/**
 * A RankGen search: a decoder strategy that streams the best beam and reports every final beam to
 * `decoder.search()` — the scorer's score, per-token log-probabilities under the processed distribution the
 * tokens were sampled from, and `details` `{ rounds, scoredCandidates, sampleForwards }`.
 */
export interface RankGen extends Strategy {
  readonly options: Readonly<Required<Omit<RankGenOptions, 'tokenizer'>>>;
  /**
   * @deprecated Use `createDecoder({ model, tokenizer, processors }).use(rankgen(options)).search(prompt, options)`;
   *   this alias delegates to it and goes away in the next minor version.
   */
  generate(args: RankGenGenerateArgs): Promise<RankGenGenerateResult>;
}

interface Beam {
  /** Holds the prompt and `tokens` minus the pending (last) token. */
  sequence: Sequence;
  /** Generated ids so far. */
  tokens: number[];
  /** Log-probability of each token under the processed distribution it was sampled from. [tokens] */
  logProbabilities: number[];
  /** Processor state after the prompt and `tokens`. */
  state: unknown;
  finished: boolean;
  score: number;
  /** True for the decoder's own sequence, which the search must not dispose. */
  shared: boolean;
}

/**
 * RankGen's generation loop (Krishna et al., 2022, "RankGen: Improving Text Generation with Large Ranking
 * Models", https://arxiv.org/abs/2205.09726; `rankgen_generator.py`, `beam_search`): every round, each beam
 * samples `numSamples` continuations of `numTokens` tokens from the decoder's processed distribution (use
 * `temperature: 1, topP: 0.9` for the paper's nucleus sampling), the scorer ranks all candidates (finished
 * beams compete again), and the best `beamSize` survive; until every beam has ended (EOS or `maxTokens`).
 * The first round samples `beamSize × numSamples` continuations of the prompt, as the original's
 * `beam_size` empty beams do. With `beamSize: 1, numSamples: 1` it is plain sampling, token for token
 * (same seed, same output).
 *
 * Streaming: tokens every surviving beam shares are final, so they are emitted after each round (all of
 * each round's winner when `beamSize` is 1).
 *
 * @example
 * const search = rankgen({ scorer: likelihoodScorer(), beamSize: 2, numSamples: 4, numTokens: 16 });
 * const { text } = await createDecoder({ model }).use(search).generate('Once upon a time', { maxTokens: 64, temperature: 1, topP: 0.9, seed: 1 });
 */
export function rankgen(options: RankGenOptions): RankGen {
  const { scorer } = options;
  if (!scorer || typeof scorer.score !== 'function') {
    throw new InvalidArgumentError({
      argument: 'scorer',
      message: 'needs a RankGenScorer ({ name, score }), e.g. likelihoodScorer().',
    });
  }
  const beamSize = options.beamSize ?? 2;
  const numSamples = options.numSamples ?? 10;
  const numTokens = options.numTokens ?? 20;
  for (const [argument, value] of [
    ['beamSize', beamSize],
    ['numSamples', numSamples],
    ['numTokens', numTokens],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${value}.`,
      });
    }
  }

  async function search(context: StrategyContext): Promise<void> {
    const { model, processor, sampler, random, signal } = context;
    const vocab = model.info.vocabSize;
    const tokenizer = options.tokenizer ?? (model as { tokenizer?: Tokenizer }).tokenizer;
    const eos = new Set(model.info.eosTokenIds);
    const prompt = [...context.tokens];
    const promptText = tokenizer ? tokenizer.decode(prompt) : '';
    // The continuation's text as it reads after the prompt (a leading space included), so that
    // `promptText + text` is the whole text.
    const decode = (ids: readonly number[]): string => {
      if (!tokenizer) return '';
      const whole = tokenizer.decode([...prompt, ...ids]);
      return whole.startsWith(promptText) ? whole.slice(promptText.length) : tokenizer.decode(ids);
    };
    const maxTokens = context.remaining();
    if (maxTokens <= 0) return;
    const stats: RankGenSearchStats = { rounds: 0, scoredCandidates: 0, sampleForwards: 0 };
    const root: Beam = {
      sequence: context.sequence,
      tokens: [],
      logProbabilities: [],
      state: context.processorState,
      finished: false,
      score: Number.NaN,
      shared: true,
    };
    let beams: Beam[] = Array.from({ length: beamSize }, () => root);
    let emitted = 0;
    let open = true;
    const input = new Int32Array(1);

    /** One sampled continuation of `beam`, on a fork of its sequence. */
    const sample = async (beam: Beam, length: number): Promise<Beam> => {
      const sequence = beam.sequence.fork();
      const tokens = [...beam.tokens];
      const logProbabilities = [...beam.logProbabilities];
      let state = beam.state;
      let finished = false;
      try {
        for (let step = 0; step < length && !finished; step++) {
          input[0] = tokens.length > 0 ? tokens[tokens.length - 1] : prompt[prompt.length - 1];
          const { logits } = await sequence.forward({ tokens: input }, { signal });
          stats.sampleForwards++;
          sequence.commit([0]);
          const row = logits.slice(0, vocab);
          processor.process(row, state);
          const token = sampler.sample(row, random);
          tokens.push(token);
          logProbabilities.push(logSoftmax(row)[token]);
          state = processor.advance(state, token);
          finished = eos.has(token);
        }
      } catch (error) {
        sequence.dispose();
        throw error;
      }
      return {
        sequence,
        tokens,
        logProbabilities,
        state,
        finished: finished || tokens.length >= maxTokens,
        score: Number.NaN,
        shared: false,
      };
    };

    const release = (beam: Beam) => {
      if (!beam.shared) beam.sequence.dispose();
    };

    try {
      while (open && beams.some(beam => !beam.finished)) {
        const length = Math.min(
          numTokens,
          maxTokens -
            Math.max(...beams.filter(beam => !beam.finished).map(beam => beam.tokens.length)),
        );
        const candidates: Beam[] = [];
        for (const beam of beams) {
          if (beam.finished) {
            candidates.push(beam);
            continue;
          }
          for (let i = 0; i < numSamples; i++) candidates.push(await sample(beam, length));
        }
        stats.rounds++;
        let survivors: Beam[];
        if (candidates.length > 1) {
          const scores = await scorer.score({
            model,
            prompt,
            promptText,
            candidates: candidates.map(candidate => ({
              tokens: candidate.tokens,
              text: decode(candidate.tokens),
              finished: candidate.finished,
            })),
            signal,
          });
          if (scores.length !== candidates.length) {
            throw new InvalidArgumentError({
              argument: 'scorer',
              message: `"${scorer.name}" returned ${scores.length} scores for ${candidates.length} candidates.`,
            });
          }
          stats.scoredCandidates += candidates.length;
          candidates.forEach(
            (candidate, i) => (candidate.score = Number.isNaN(scores[i]) ? -Infinity : scores[i]),
          );
          const order = candidates
            .map((_, i) => i)
            .sort((a, b) => candidates[b].score - candidates[a].score || a - b);
          survivors = order.slice(0, beamSize).map(i => candidates[i]);
        } else {
          survivors = candidates;
        }
        const kept = new Set(survivors);
        for (const beam of new Set([...beams, ...candidates])) if (!kept.has(beam)) release(beam);
        beams = survivors;
        // Tokens shared by every surviving beam are final: later beams all extend one of these.
        let common = beams[0].tokens.length;
        for (const beam of beams) {
          let i = 0;
          while (i < common && i < beam.tokens.length && beam.tokens[i] === beams[0].tokens[i]) i++;
          common = i;
        }
        for (; emitted < common && open; emitted++)
          open = context.emit(beams[0].tokens[emitted], 'target');
        if (!open) break; // a stop string or the decoder's own limit ended generation
      }
      for (; emitted < beams[0].tokens.length && open; emitted++)
        open = context.emit(beams[0].tokens[emitted], 'target');
      context.reportSearch({
        hypotheses: beams.map(beam => ({
          tokens: beam.tokens,
          score: beam.score,
          tokenLogProbabilities: beam.logProbabilities,
        })),
        details: { ...stats },
      });
    } finally {
      for (const beam of new Set(beams)) release(beam);
      scorer.end?.();
    }
  }

  const strategy: RankGen = {
    kind: 'strategy',
    name: `rankgen(${scorer.name}, beams=${beamSize}, samples=${numSamples}, every ${numTokens})`,
    lossless: false,
    run: search,
    options: { scorer, beamSize, numSamples, numTokens },
    async generate({ model, prompt, options: generateOptions, processors, tokenizer }) {
      const { hypotheses, details, ...result } = await createDecoder({
        model,
        tokenizer,
        processors,
      })
        .use(strategy)
        .search(prompt, generateOptions);
      return {
        ...result,
        hypotheses: hypotheses.map(({ tokens, text, score }) => ({ tokens, text, score })),
        search: {
          rounds: Number(details.rounds ?? 0),
          scoredCandidates: Number(details.scoredCandidates ?? 0),
          sampleForwards: Number(details.sampleForwards ?? 0),
        },
      };
    },
  };
  return strategy;
}
