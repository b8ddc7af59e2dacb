import {
  ContextLengthError,
  InvalidArgumentError,
  chain,
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

/** One returned hypothesis. */
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

/** Arguments of `beamSearch(...).generate`. */
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

/** The result of `beamSearch(...).generate`. */
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
 * A beam search: usable as a decoder strategy (it searches, then streams the best hypothesis) and
 * directly through `generate` for every hypothesis with its score.
 */
export interface BeamSearch extends Strategy {
  readonly options: Readonly<Required<BeamSearchOptions>>;
  /** Runs the search and returns `numReturnSequences` hypotheses, best first. */
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
 * const search = beamSearch({ numBeams: 4, numReturnSequences: 2 });
 * const { hypotheses } = await search.generate({ model, prompt: 'Once upon a time', maxTokens: 32 });
 * // or stream the best hypothesis through a decoder:
 * const { text } = await createDecoder({ model }).use(search).generate('Once upon a time', { maxTokens: 32 });
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
  return {
    kind: 'strategy',
    name,
    lossless: options.numBeams === 1,
    options,
    async run(context) {
      const maxTokens = context.remaining();
      if (maxTokens <= 0) return;
      const { hypotheses } = await searchBeams({
        ...common,
        model: context.model,
        sequence: context.sequence,
        prompt: context.tokens,
        processor: context.processor,
        processorState: context.processorState,
        maxTokens,
        eosTokenIds: context.model.info.eosTokenIds,
        numReturnSequences: 1,
        forward: (input, sequence) => context.forward(input, { sequence }),
        signal: context.signal,
      });
      for (const token of hypotheses[0]?.tokens ?? []) {
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
      let prompt: number[];
      if (typeof args.prompt === 'string') {
        check(
          tokenizer !== undefined,
          'prompt',
          'a text prompt needs a tokenizer: pass one or use { tokens }.',
        );
        prompt = tokenizer.encode(args.prompt);
      } else {
        prompt = [...args.prompt.tokens];
      }
      check(
        prompt.length > 0,
        'prompt',
        'the prompt is empty: give at least one token (e.g. BOS).',
      );
      const { contextLength, vocabSize } = model.info;
      check(
        prompt.every(id => Number.isInteger(id) && id >= 0 && id < vocabSize),
        'prompt',
        `token ids must be in [0, ${vocabSize}).`,
      );
      if (prompt.length >= contextLength) {
        throw new ContextLengthError({
          length: prompt.length + 1,
          contextLength,
          what: `The prompt (${prompt.length} tokens) plus one new token`,
        });
      }
      const maxTokens = Math.min(args.maxTokens, contextLength - prompt.length);
      const processor = chain(...(args.processors ?? []));
      const sequence = model.createSequence();
      let prefill = 0;
      try {
        if (prompt.length > 1) {
          await sequence.forward({ tokens: Int32Array.from(prompt.slice(0, -1)) }, { signal });
          sequence.commit(prompt.slice(0, -1).map((_, index) => index));
          prefill = 1;
        }
        const result = await searchBeams({
          ...common,
          model,
          sequence,
          prompt,
          processor,
          processorState: processor.init(prompt),
          maxTokens,
          eosTokenIds: args.eosTokenIds ?? model.info.eosTokenIds,
          numReturnSequences: options.numReturnSequences,
          signal,
        });
        return {
          hypotheses: result.hypotheses.map(hypothesis => ({
            tokens: hypothesis.tokens,
            text: tokenizer ? tokenizer.decode(hypothesis.tokens) : '',
            score: hypothesis.score,
            logProbability: hypothesis.logProbability,
          })),
          promptTokens: prompt,
          forwardPasses: prefill + result.forwardPasses,
          forwardRows: result.forwardRows,
          forwardMode: result.finalMode,
        };
      } finally {
        sequence.dispose();
      }
    },
  };
}

function check(condition: boolean, argument: string, message: string): asserts condition {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}
