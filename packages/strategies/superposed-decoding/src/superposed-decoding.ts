import {
  invariant,
  AbortedError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  throwIfAborted,
  type CausalLM,
  type Strategy,
} from '@decodekit/core';
import type { NgramModel } from './ngram-model.js';

/**
 * A causal LM that takes input embeddings: what superposed decoding needs from a backend. Core CausalLMs
 * with `capabilities.inputEmbeddings` are adapted by {@link embeddingsModelOf}; tests implement it directly.
 */
export interface EmbeddingsModel {
  readonly info: {
    readonly name: string;
    readonly vocabSize: number;
    readonly hiddenSize: number;
    readonly contextLength: number;
    readonly eosTokenIds: readonly number[];
  };
  /** Token input embeddings, row i = token i. [vocab, hiddenSize] */
  readonly embeddingTable: Float32Array;
  createSequence(): EmbeddingsSequence;
}

/** The KV state of an `EmbeddingsModel`: append-only chains of embedding rows. */
export interface EmbeddingsSequence {
  /** Cached positions. */
  readonly length: number;
  /**
   * Runs `embeddings` [rows, hiddenSize] after the cached prefix as a chain, caches them, returns [rows, vocab]
   * logits. `tokens` [rows] name the rows for a backend's bookkeeping (a superposed row: the best draft's token).
   */
  append(
    embeddings: Float32Array,
    options?: { signal?: AbortSignal; tokens?: Int32Array },
  ): Promise<Float32Array>;
  dispose(): void;
}

/** Options of `superposedDecoding`. */
export interface SuperposedDecodingOptions {
  /** Drafts k. Default 3 (`n_drafts`). */
  numDrafts?: number;
  /** Temperature of the model distribution before the top-`numTokenSample` cut. Default 0.06. */
  temperature?: number;
  /** Tokens kept from the model distribution per step (`n_token_sample`). Default 9. */
  numTokenSample?: number;
  /** N-gram tables for the interpolation filter; without them drafts use the model's probabilities only. */
  ngrams?: NgramModel;
  /** Interpolation weight α of the n-gram log-probability. Default 0.54 (ignored without `ngrams`). */
  alpha?: number;
  /** Weights of the 1 … m-token n-gram contexts (bigram … ). Default [0.01, 0.04, 0.15, 0.18, 0.12]. */
  interpolationWeights?: readonly number[];
  /** Subtracted from a draft's scores when no n-gram matches any of its candidates. Default 200. */
  penalty?: number;
}

/** One draft. */
export interface SuperposedDraft {
  /** Generated ids (an EOS that finished it included). */
  tokens: number[];
  /** Accumulated (interpolated) log-score the drafts are ranked by. */
  score: number;
}

/** The result of `superposedDecoding(...).generate`. */
export interface SuperposedResult {
  /** The k running drafts, best first. */
  drafts: SuperposedDraft[];
  /** Drafts that ended with EOS (up to k), best first. */
  finished: SuperposedDraft[];
  /** Model forwards (the prompt's prefill included): one per step for all drafts. */
  forwardPasses: number;
}

/** Arguments of `generate`. */
export interface SuperposedGenerateArgs {
  /** An EmbeddingsModel, or a core CausalLM with `capabilities.inputEmbeddings` (see {@link embeddingsModelOf}). */
  model: EmbeddingsModel | CausalLM;
  /** Prompt ids (BOS included when the model expects it). */
  prompt: readonly number[];
  maxTokens: number;
  signal?: AbortSignal;
}

/** Superposed decoding: k drafts for about the cost of one. */
export interface SuperposedDecoding {
  readonly options: Readonly<Required<Omit<SuperposedDecodingOptions, 'ngrams'>>> & {
    readonly ngrams?: NgramModel;
  };
  /**
   * Runs the search on its own sequence for all `maxTokens` steps and returns the running and finished
   * drafts apart.
   * @deprecated For a CausalLM use `createDecoder({ model }).use(superposedStrategy(options)).search(prompt)`
   *   (the drafts ranked in one list). Kept for `EmbeddingsModel`s, which are not CausalLMs, until the next
   *   minor version.
   */
  generate(args: SuperposedGenerateArgs): Promise<SuperposedResult>;
}

interface Draft {
  tokens: number[];
  score: number;
}

/**
 * Superposed Decoding (Shen et al., 2024, "Superposed Decoding: Multiple Generations from a Single
 * Autoregressive Inference Pass", https://arxiv.org/abs/2405.18400; RAIVNLab/SuperposedDecoding
 * `superposed/llama/superpose.py`): one sequence, one forward per step. The step's input is the weighted sum
 * of the k drafts' last-token embeddings (weights = the drafts' normalized probabilities); the one resulting
 * distribution P is cut to its top `numTokenSample` tokens, each draft scores every kept token x by
 * `(1 − α) log P(x) + α log Σ_i w_i P_ngram(x | the draft's last i tokens)` (a draft with no n-gram match
 * gets `(1 − α) log P(x) − penalty`), the best 2k (draft, token) pairs by accumulated score are taken, and
 * the best k that did not end with EOS become the new drafts (the EOS ones join the finished set).
 *
 * @example
 * const superposed = superposedDecoding({ numDrafts: 3, ngrams: ngramModel(corpusIds) });
 * const { drafts } = await superposed.generate({ model: embeddingsModel, prompt: ids, maxTokens: 32 });
 */
export function superposedDecoding(options: SuperposedDecodingOptions = {}): SuperposedDecoding {
  const numDrafts = options.numDrafts ?? 3;
  const temperature = options.temperature ?? 0.06;
  const numTokenSample = options.numTokenSample ?? 9;
  const alpha = options.alpha ?? 0.54;
  const interpolationWeights = [
    ...(options.interpolationWeights ?? [0.01, 0.04, 0.15, 0.18, 0.12]),
  ];
  const penalty = options.penalty ?? 200;
  const { ngrams } = options;
  const fail = (argument: string, message: string) => {
    throw new InvalidArgumentError({ argument, message });
  };
  if (!Number.isInteger(numDrafts) || numDrafts < 1)
    fail('numDrafts', `must be a positive integer, got ${numDrafts}.`);
  if (!(Number.isFinite(temperature) && temperature > 0))
    fail('temperature', `must be > 0, got ${temperature}.`);
  if (!Number.isInteger(numTokenSample) || numTokenSample < 1)
    fail('numTokenSample', `must be a positive integer, got ${numTokenSample}.`);
  if (!(alpha >= 0 && alpha <= 1)) fail('alpha', `must be in [0, 1], got ${alpha}.`);
  if (interpolationWeights.length === 0 || interpolationWeights.some(weight => !(weight >= 0))) {
    fail('interpolationWeights', 'must be a non-empty list of weights ≥ 0.');
  }
  if (ngrams && interpolationWeights.length > ngrams.maxContext) {
    fail(
      'interpolationWeights',
      `has ${interpolationWeights.length} weights but the n-gram tables have contexts up to ${ngrams.maxContext} tokens.`,
    );
  }
  if (!(Number.isFinite(penalty) && penalty >= 0))
    fail('penalty', `must be a finite number ≥ 0, got ${penalty}.`);

  const resolved = {
    numDrafts,
    temperature,
    numTokenSample,
    alpha,
    interpolationWeights,
    penalty,
    ngrams,
  };
  const useNgrams = ngrams !== undefined && alpha > 0;
  return {
    options: resolved,
    async generate({ model, prompt, maxTokens, signal }) {
      const embeddingsModel = isCausalLM(model) ? embeddingsModelOf(model) : model;
      const { vocabSize, hiddenSize, contextLength } = embeddingsModel.info;
      const table = embeddingsModel.embeddingTable;
      if (table.length !== vocabSize * hiddenSize)
        fail(
          'model',
          `embeddingTable has ${table.length} floats, expected ${vocabSize} × ${hiddenSize}.`,
        );
      if (prompt.length === 0) fail('prompt', 'is empty: give at least one token (e.g. BOS).');
      if (!Number.isInteger(maxTokens) || maxTokens < 1)
        fail('maxTokens', `must be a positive integer, got ${maxTokens}.`);
      const sequence = embeddingsModel.createSequence();
      try {
        return await superpose(resolved, useNgrams, {
          info: embeddingsModel.info,
          table,
          prompt,
          steps: Math.min(maxTokens, contextLength - prompt.length),
          signal,
          prefill: () => {
            const rows = new Float32Array(prompt.length * hiddenSize);
            prompt.forEach((token, row) =>
              rows.set(
                table.subarray(token * hiddenSize, (token + 1) * hiddenSize),
                row * hiddenSize,
              ),
            );
            return sequence.append(rows, { signal, tokens: Int32Array.from(prompt) });
          },
          step: (token, embedding) =>
            sequence.append(embedding, { signal, tokens: Int32Array.of(token) }),
        });
      } finally {
        sequence.dispose();
      }
    },
  };
}

/** What one superposed search runs on. */
interface SearchArgs {
  info: EmbeddingsModel['info'];
  table: Float32Array;
  /** Prompt ids (the n-gram context of every draft starts with them). */
  prompt: readonly number[];
  steps: number;
  signal?: AbortSignal;
  /** Forwards what the cache lacks of the prompt; [rows, vocab] logits, the last row next-token. */
  prefill(): Promise<Float32Array>;
  /** Forwards and caches one superposed row (`token` names it); [1, vocab] logits. */
  step(token: number, embedding: Float32Array): Promise<Float32Array>;
  /** Stop once the best finished draft scores at least the best running one (scores never increase). */
  stopWhenSettled?: boolean;
}

type Resolved = Readonly<Required<Omit<SuperposedDecodingOptions, 'ngrams'>>> & {
  readonly ngrams?: NgramModel;
};

async function superpose(
  options: Resolved,
  useNgrams: boolean,
  args: SearchArgs,
): Promise<SuperposedResult> {
  const { numDrafts, temperature, numTokenSample, alpha, interpolationWeights, penalty, ngrams } =
    options;
  const { info, table, prompt, steps, signal } = args;
  const { vocabSize, hiddenSize, eosTokenIds } = info;
  const eos = new Set(eosTokenIds);
  let forwardPasses = 0;
  try {
    throwIfAborted(signal);
    let logits = lastRow(await args.prefill(), vocabSize);
    forwardPasses++;
    let alive: Draft[] = Array.from({ length: numDrafts }, () => ({ tokens: [], score: 0 }));
    let finished: Draft[] = [];
    for (let step = 0; step < steps; step++) {
      const kept = topProbabilities(logits, temperature, numTokenSample);
      // First step: every draft is the prompt, so only draft 0's candidates count (as the official is_first).
      const draftCount = step === 0 ? 1 : alive.length;
      const candidates: { draft: number; token: number; score: number }[] = [];
      for (let d = 0; d < draftCount; d++) {
        const context = [...prompt, ...alive[d].tokens];
        const scores = kept.map(({ token, probability }) => {
          if (!useNgrams) return Math.log(probability);
          let mixture = 0;
          interpolationWeights.forEach((weight, i) => {
            const length = i + 1;
            if (context.length - length < 0) return;
            invariant(ngrams !== undefined, 'useNgrams implies an n-gram model');
            const p = ngrams.prob(context.slice(context.length - length), token);
            if (p >= 0) mixture += weight * p;
          });
          return mixture > 0
            ? (1 - alpha) * Math.log(probability) + alpha * Math.log(mixture)
            : -Infinity;
        });
        const noMatch = scores.every(score => score === -Infinity);
        kept.forEach(({ token, probability }, i) => {
          const local = noMatch ? (1 - alpha) * Math.log(probability) - penalty : scores[i];
          candidates.push({ draft: d, token, score: alive[d].score + local });
        });
      }
      candidates.sort((a, b) => b.score - a.score || a.draft - b.draft || a.token - b.token);
      const top = candidates
        .slice(0, 2 * numDrafts)
        .filter(candidate => candidate.score > -Infinity);
      const grown = top.map(candidate => ({
        tokens: [...alive[candidate.draft].tokens, candidate.token],
        score: candidate.score,
        ended: eos.has(candidate.token),
      }));
      finished = [
        ...finished,
        ...grown.filter(draft => draft.ended).map(({ tokens, score }) => ({ tokens, score })),
      ]
        .sort((a, b) => b.score - a.score)
        .slice(0, numDrafts);
      alive = grown
        .filter(draft => !draft.ended)
        .slice(0, numDrafts)
        .map(({ tokens, score }) => ({ tokens, score }));
      if (alive.length === 0 || step === steps - 1) break;
      if (args.stopWhenSettled && finished.length > 0 && finished[0].score >= alive[0].score) break;
      // Superposition: Σ_d w_d E[last token of d], w = the drafts' probabilities, normalized.
      const best = Math.max(...alive.map(draft => draft.score));
      const weights = alive.map(draft => Math.exp(draft.score - best));
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      const embedding = new Float32Array(hiddenSize);
      alive.forEach((draft, d) => {
        const token = draft.tokens[draft.tokens.length - 1];
        const weight = weights[d] / total;
        for (let h = 0; h < hiddenSize; h++) embedding[h] += weight * table[token * hiddenSize + h];
      });
      // The row is named by the best draft's last token (bookkeeping only: its embedding is the mixture).
      const named = alive[0].tokens[alive[0].tokens.length - 1];
      logits = lastRow(await args.step(named, embedding), vocabSize);
      forwardPasses++;
    }
    return { drafts: alive, finished, forwardPasses };
  } catch (error) {
    if (signal?.aborted && !AbortedError.isInstance(error))
      throw new AbortedError({ reason: signal.reason });
    throw error;
  }
}

function isCausalLM(model: EmbeddingsModel | CausalLM): model is CausalLM {
  return (model as CausalLM).capabilities !== undefined;
}

function requireInputEmbeddings(model: CausalLM): Float32Array {
  const { hiddenSize, vocabSize } = model.info;
  if (!model.capabilities.inputEmbeddings || typeof model.embeddingTable !== 'function') {
    throw new UnsupportedCapabilityError({
      capability: 'inputEmbeddings',
      backendId: model.capabilities.backendId,
      hint: 'Superposed decoding feeds weighted sums of embedding rows: load a model converted by decodekit (not --plain; its folder has onnx/model_embeds.onnx) with the onnx-cpu backend.',
    });
  }
  const table = model.embeddingTable();
  if (table.length !== vocabSize * hiddenSize) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: `embeddingTable() has ${table.length} floats, expected ${vocabSize} × ${hiddenSize}.`,
    });
  }
  return table;
}

/**
 * An {@link EmbeddingsModel} over a core `CausalLM` with `capabilities.inputEmbeddings` (e.g. a model loaded
 * by `@decodekit/backend-onnx` from a folder with `onnx/model_embeds.onnx`): `append` is
 * `forward({ tokens, embeddings })` plus a commit of every row.
 *
 * @throws UnsupportedCapabilityError when the model cannot take input embeddings
 * @example
 * const { drafts } = await superposedDecoding({ numDrafts: 3 }).generate({ model: embeddingsModelOf(model), prompt: ids, maxTokens: 32 });
 */
export function embeddingsModelOf(model: CausalLM): EmbeddingsModel {
  const embeddingTable = requireInputEmbeddings(model);
  const { name, vocabSize, hiddenSize, contextLength, eosTokenIds } = model.info;
  return {
    info: { name, vocabSize, hiddenSize, contextLength, eosTokenIds },
    embeddingTable,
    createSequence() {
      const sequence = model.createSequence();
      return {
        get length() {
          return sequence.tokens.length;
        },
        async append(embeddings, options = {}) {
          const rows = embeddings.length / hiddenSize;
          const tokens = options.tokens ?? new Int32Array(rows);
          const { logits } = await sequence.forward(
            { tokens, embeddings },
            { signal: options.signal },
          );
          sequence.commit(Int32Array.from({ length: rows }, (_, i) => i));
          return logits;
        },
        dispose: () => sequence.dispose(),
      };
    },
  };
}

/** Options of {@link superposedStrategy}. */
export type SuperposedStrategyOptions = SuperposedDecodingOptions;

/**
 * Superposed decoding as a decoder `Strategy`: runs the k-draft search over the decoder's sequence (one
 * `forward({ tokens, embeddings })` per step) and then streams the best draft — the highest accumulated
 * score among the running drafts and the EOS-finished ones (scores never increase, so the search stops as
 * soon as a finished draft scores at least the best running one). `decoder.search()` returns every draft,
 * running and EOS-finished, ranked by that score. The decoder's logits processors and
 * temperature are not applied (the paper's own temperature and n-gram filter rank the drafts). Needs
 * `capabilities.inputEmbeddings`. With `numDrafts: 1` and no n-grams it is greedy decoding.
 *
 * @example
 * const decoder = createDecoder({ model }).use(superposedStrategy({ numDrafts: 3, ngrams: ngramModel(corpusIds) }));
 * const { text } = await decoder.generate('Once upon a time', { maxTokens: 64 });
 * const { hypotheses } = await decoder.search('Once upon a time', { maxTokens: 64 }); // every draft, best first
 */
export function superposedStrategy(options: SuperposedStrategyOptions = {}): Strategy {
  const search = superposedDecoding(options);
  const resolved = search.options;
  const useNgrams = resolved.ngrams !== undefined && resolved.alpha > 0;
  return {
    kind: 'strategy',
    name: 'superposed-decoding',
    lossless: resolved.numDrafts === 1 && !useNgrams,
    requires: ['inputEmbeddings'],
    async run(context) {
      const maxTokens = context.remaining();
      if (maxTokens <= 0) return;
      const model = context.model;
      const table = requireInputEmbeddings(model);
      const { hiddenSize, contextLength } = model.info;
      const prompt = context.tokens;
      const pending = prompt[prompt.length - 1];
      const append = async (tokens: Int32Array, embeddings?: Float32Array) => {
        const { logits } = await context.forward(
          embeddings === undefined ? { tokens } : { tokens, embeddings },
        );
        context.sequence.commit(Int32Array.from({ length: tokens.length }, (_, i) => i));
        return logits;
      };
      const { drafts, finished } = await superpose(resolved, useNgrams, {
        info: { ...model.info, hiddenSize },
        table,
        prompt,
        steps: Math.min(maxTokens, contextLength - prompt.length + 1),
        signal: context.signal,
        prefill: () => append(Int32Array.of(pending)),
        step: (token, embedding) => append(Int32Array.of(token), embedding),
        stopWhenSettled: true,
      });
      const ranked = [...finished, ...drafts].sort((a, b) => b.score - a.score);
      context.reportSearch({ hypotheses: ranked });
      for (const token of ranked[0]?.tokens ?? []) {
        if (!context.emit(token, 'target')) return;
      }
    },
  };
}

function lastRow(logits: Float32Array, vocabSize: number): Float32Array {
  return logits.subarray(logits.length - vocabSize);
}

/** softmax(logits / temperature) cut to its top `count` tokens and renormalized (the official get_top_k). */
function topProbabilities(
  logits: Float32Array,
  temperature: number,
  count: number,
): { token: number; probability: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const order = Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => logits[b] - logits[a] || a - b,
  );
  const kept = order
    .slice(0, count)
    .map(token => ({ token, weight: Math.exp((logits[token] - max) / temperature) }));
  const total = kept.reduce((sum, entry) => sum + entry.weight, 0);
  return kept
    .map(({ token, weight }) => ({ token, probability: weight / total }))
    .filter(entry => entry.probability > 0);
}
