import {
  InvalidArgumentError,
  createDecoder,
  wrapModel,
  type CausalLM,
  type LogitsProcessor,
  type Strategy,
  type Tokenizer,
} from '@decodekit/core';
import type { EarlyStopping } from './beam-hypotheses.js';
import { searchBeams, type BeamForwardMode } from './search-beams.js';

/** Options of `beamSearch`. */
export interface BeamSearchOptions {
  /** Beams kept each step. Default 4. `1` is greedy decoding. */
  numBeams?: number;
  /**
   * Exponent of the length normalization `score = sumLogProb / length ** lengthPenalty` (Hugging Face
   * `length_penalty`). Default 1. > 0 favours longer hypotheses, < 0 shorter ones.
   */
  lengthPenalty?: number;
  /**
   * Hugging Face `early_stopping`: `true` stops as soon as `numBeams` hypotheses are finished; `false`
   * (default) stops when no running beam can beat the worst finished one at the current length; `'never'`
   * stops only when none can beat it at any length up to `maxTokens`.
   */
  earlyStopping?: EarlyStopping;
  /** Hypotheses returned (≤ numBeams). Default 1. */
  numReturnSequences?: number;
  /** How the beams' logits are computed; see `BeamForwardMode`. Default `'auto'`. */
  forwardMode?: BeamForwardMode;
  /** In `'auto'` mode, the trie size (rows) above which the search switches to per-beam forwards. Default 256. */
  maxTreeRows?: number;
}

/** One hypothesis of the deprecated `beamSearch(...).generate`. */
export interface BeamHypothesis {
  /** Generated ids (the prompt excluded; an EOS that finished it included). */
  tokens: number[];
  /** Decoded text (special tokens skipped); empty without a tokenizer. */
  text: string;
  /**
   * Ranking score: the sum of the per-step search scores over `tokens.length ** lengthPenalty`. The search
   * scores are log-probabilities (minus the diversity penalties in diverse beam search).
   */
  score: number;
  /** Sum of the token log-probabilities under the processed distribution. */
  logProbability: number;
}

/** Arguments of the deprecated `beamSearch(...).generate`. */
export interface BeamGenerateArgs {
  model: CausalLM;
  /** Needed for a text prompt and for `text`; defaults to `model.tokenizer` when the model carries one. */
  tokenizer?: Tokenizer;
  /** Text (BOS is prepended as the model was trained) or ids. */
  prompt: string | { readonly tokens: readonly number[] };
  /** Most generated tokens per hypothesis (EOS included). */
  maxTokens: number;
  /** Logits processors, applied per beam with forked state. */
  processors?: readonly LogitsProcessor<unknown>[];
  /** Ids ending a hypothesis. Default: the model's EOS ids. */
  eosTokenIds?: readonly number[];
  signal?: AbortSignal;
}

/** The result of the deprecated `beamSearch(...).generate`. */
export interface BeamGenerateResult {
  /** The best `numReturnSequences` hypotheses, best first. */
  hypotheses: BeamHypothesis[];
  promptTokens: number[];
  /** Target forward calls (prefill included). */
  forwardPasses: number;
  /** Rows fed to the model over all search forwards (the prefill excluded). */
  forwardRows: number;
  /** Forward mode the search ended in. */
  forwardMode: 'tree' | 'per-beam';
}

/**
 * A beam search: a decoder strategy that searches, streams the best hypothesis, and reports the best
 * `numReturnSequences` to `decoder.search()` — with their length-normalized scores, per-token
 * log-probabilities, and `details` `{ forwardRows, forwardMode }` (rows fed to the model by the search,
 * the forward mode it ended in).
 */
export interface BeamSearch extends Strategy {
  readonly options: Readonly<Required<BeamSearchOptions>>;
  /**
   * Runs the search and returns `numReturnSequences` hypotheses, best first.
   * @deprecated Use `createDecoder({ model, processors }).use(beamSearch(options)).search(prompt, { maxTokens })`;
   *   this alias delegates to it and goes away in the next minor version.
   */
  generate(args: BeamGenerateArgs): Promise<BeamGenerateResult>;
}

/** @internal Validated options shared with diverse beam search. */
export function resolveBeamOptions(options: BeamSearchOptions): Required<BeamSearchOptions> {
  const numBeams = options.numBeams ?? 4;
  check(
    Number.isInteger(numBeams) && numBeams >= 1,
    'numBeams',
    `must be a positive integer, got ${numBeams}.`,
  );
  const lengthPenalty = options.lengthPenalty ?? 1;
  check(
    Number.isFinite(lengthPenalty),
    'lengthPenalty',
    `must be a finite number, got ${lengthPenalty}.`,
  );
  const earlyStopping = options.earlyStopping ?? false;
  check(
    earlyStopping === true || earlyStopping === false || earlyStopping === 'never',
    'earlyStopping',
    `must be true, false or 'never', got ${String(earlyStopping)}.`,
  );
  const numReturnSequences = options.numReturnSequences ?? 1;
  check(
    Number.isInteger(numReturnSequences) &&
      numReturnSequences >= 1 &&
      numReturnSequences <= numBeams,
    'numReturnSequences',
    `must be an integer in [1, numBeams = ${numBeams}], got ${numReturnSequences}.`,
  );
  const forwardMode = options.forwardMode ?? 'auto';
  check(
    ['auto', 'tree', 'per-beam'].includes(forwardMode),
    'forwardMode',
    `must be 'auto', 'tree' or 'per-beam', got ${String(forwardMode)}.`,
  );
  const maxTreeRows = options.maxTreeRows ?? 256;
  check(
    Number.isInteger(maxTreeRows) && maxTreeRows >= 1,
    'maxTreeRows',
    `must be a positive integer, got ${maxTreeRows}.`,
  );
  return { numBeams, lengthPenalty, earlyStopping, numReturnSequences, forwardMode, maxTreeRows };
}

/**
 * Beam search (Hugging Face `num_beams` semantics): length penalty, early stopping (`true`, `false`,
 * `'never'`), several returned hypotheses, logits processors applied per beam with forked state.
 * All beams are scored in one tree forward per step where the backend supports trees (see
 * `BeamForwardMode`). With `numBeams: 1` it is greedy decoding, token for token.
 *
 * @example
 * const decoder = createDecoder({ model }).use(beamSearch({ numBeams: 4, numReturnSequences: 2 }));
 * const { hypotheses } = await decoder.search('Once upon a time', { maxTokens: 32 });
 * // or stream the best hypothesis:
 * const { text } = await decoder.generate('Once upon a time', { maxTokens: 32 });
 */
export function beamSearch(options: BeamSearchOptions = {}): BeamSearch {
  const resolved = resolveBeamOptions(options);
  return createBeamSearch('beam-search', resolved, 1, 0);
}

/** @internal A beam search with groups (diverse beam search builds on this). */
export function createBeamSearch(
  name: string,
  options: Required<BeamSearchOptions>,
  numGroups: number,
  diversityPenalty: number,
): BeamSearch {
  const common = {
    numBeams: options.numBeams,
    numGroups,
    diversityPenalty,
    lengthPenalty: options.lengthPenalty,
    earlyStopping: options.earlyStopping,
    forwardMode: options.forwardMode,
    maxTreeRows: options.maxTreeRows,
  };
  const strategy: BeamSearch = {
    kind: 'strategy',
    name,
    lossless: options.numBeams === 1,
    options,
    async run(context) {
      const maxTokens = context.remaining();
      if (maxTokens <= 0) return;
      const result = await searchBeams({
        ...common,
        model: context.model,
        sequence: context.sequence,
        prompt: context.tokens,
        processor: context.processor,
        processorState: context.processorState,
        maxTokens,
        eosTokenIds: context.model.info.eosTokenIds,
        numReturnSequences: options.numReturnSequences,
        forward: (input, sequence) => context.forward(input, { sequence }),
        signal: context.signal,
      });
      context.reportSearch({
        hypotheses: result.hypotheses,
        details: { forwardRows: result.forwardRows, forwardMode: result.finalMode },
      });
      for (const token of result.hypotheses[0]?.tokens ?? []) {
        if (!context.emit(token, 'target')) return;
      }
    },
    async generate(args) {
      const { model, signal } = args;
      const tokenizer = args.tokenizer ?? (model as { tokenizer?: Tokenizer }).tokenizer;
      check(
        Number.isInteger(args.maxTokens) && args.maxTokens > 0,
        'maxTokens',
        `must be a positive integer, got ${args.maxTokens}.`,
      );
      const { eosTokenIds } = args;
      const target = eosTokenIds
        ? wrapModel({
            model,
            middleware: { name: 'eos-ids', transformInfo: info => ({ ...info, eosTokenIds }) },
          })
        : model;
      const result = await createDecoder({ model: target, tokenizer, processors: args.processors })
        .use(strategy)
        .search(args.prompt, { maxTokens: args.maxTokens, signal });
      return {
        hypotheses: result.hypotheses.map(hypothesis => ({
          tokens: hypothesis.tokens,
          text: tokenizer ? tokenizer.decode(hypothesis.tokens) : '',
          score: hypothesis.score,
          logProbability: hypothesis.logProbability ?? Number.NaN,
        })),
        promptTokens: result.promptTokens,
        forwardPasses: result.stats.forwardPasses,
        forwardRows: Number(result.details.forwardRows ?? 0),
        forwardMode: result.details.forwardMode === 'tree' ? 'tree' : 'per-beam',
      };
    },
  };
  return strategy;
}

function check(condition: boolean, argument: string, message: string): asserts condition {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}
