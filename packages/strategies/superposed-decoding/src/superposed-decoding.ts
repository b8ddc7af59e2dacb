import { AbortedError, InvalidArgumentError, throwIfAborted } from '@decodekit/core';
import type { NgramModel } from './ngram-model.js';

/**
 * ADAPTER — stands in for a core contract addition that does not exist yet (see README, "Contract").
 * A causal LM that takes input embeddings: what superposed decoding needs from a backend.
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

/** ADAPTER — the KV state of an `EmbeddingsModel`: append-only chains of embedding rows. */
export interface EmbeddingsSequence {
  /** Cached positions. */
  readonly length: number;
  /** Runs `embeddings` [rows, hiddenSize] after the cached prefix as a chain, caches them, returns [rows, vocab] logits. */
  append(embeddings: Float32Array, options?: { signal?: AbortSignal }): Promise<Float32Array>;
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
  model: EmbeddingsModel;
  /** Prompt ids (BOS included when the model expects it). */
  prompt: readonly number[];
  maxTokens: number;
  signal?: AbortSignal;
}

/** Superposed decoding: k drafts for about the cost of one. */
export interface SuperposedDecoding {
  readonly options: Readonly<Required<Omit<SuperposedDecodingOptions, 'ngrams'>>> & { readonly ngrams?: NgramModel };
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
  const interpolationWeights = [...(options.interpolationWeights ?? [0.01, 0.04, 0.15, 0.18, 0.12])];
  const penalty = options.penalty ?? 200;
  const { ngrams } = options;
  const fail = (argument: string, message: string) => {
    throw new InvalidArgumentError({ argument, message });
  };
  if (!Number.isInteger(numDrafts) || numDrafts < 1) fail('numDrafts', `must be a positive integer, got ${numDrafts}.`);
  if (!(Number.isFinite(temperature) && temperature > 0)) fail('temperature', `must be > 0, got ${temperature}.`);
  if (!Number.isInteger(numTokenSample) || numTokenSample < 1) fail('numTokenSample', `must be a positive integer, got ${numTokenSample}.`);
  if (!(alpha >= 0 && alpha <= 1)) fail('alpha', `must be in [0, 1], got ${alpha}.`);
  if (interpolationWeights.length === 0 || interpolationWeights.some(weight => !(weight >= 0))) {
    fail('interpolationWeights', 'must be a non-empty list of weights ≥ 0.');
  }
  if (ngrams && interpolationWeights.length > ngrams.maxContext) {
    fail('interpolationWeights', `has ${interpolationWeights.length} weights but the n-gram tables have contexts up to ${ngrams.maxContext} tokens.`);
  }
  if (!(Number.isFinite(penalty) && penalty >= 0)) fail('penalty', `must be a finite number ≥ 0, got ${penalty}.`);
  const useNgrams = ngrams !== undefined && alpha > 0;

  return {
    options: { numDrafts, temperature, numTokenSample, alpha, interpolationWeights, penalty, ngrams },
    async generate({ model, prompt, maxTokens, signal }) {
      const { vocabSize, hiddenSize, contextLength, eosTokenIds } = model.info;
      const table = model.embeddingTable;
      if (table.length !== vocabSize * hiddenSize) fail('model', `embeddingTable has ${table.length} floats, expected ${vocabSize} × ${hiddenSize}.`);
      if (prompt.length === 0) fail('prompt', 'is empty: give at least one token (e.g. BOS).');
      if (!Number.isInteger(maxTokens) || maxTokens < 1) fail('maxTokens', `must be a positive integer, got ${maxTokens}.`);
      const steps = Math.min(maxTokens, contextLength - prompt.length);
      const eos = new Set(eosTokenIds);
      const sequence = model.createSequence();
      let forwardPasses = 0;
      try {
        throwIfAborted(signal);
        const promptEmbeddings = new Float32Array(prompt.length * hiddenSize);
        prompt.forEach((token, row) => promptEmbeddings.set(table.subarray(token * hiddenSize, (token + 1) * hiddenSize), row * hiddenSize));
        let logits = lastRow(await sequence.append(promptEmbeddings, { signal }), vocabSize);
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
                const p = ngrams!.prob(context.slice(context.length - length), token);
                if (p >= 0) mixture += weight * p;
              });
              return mixture > 0 ? (1 - alpha) * Math.log(probability) + alpha * Math.log(mixture) : -Infinity;
            });
            const noMatch = scores.every(score => score === -Infinity);
            kept.forEach(({ token, probability }, i) => {
              const local = noMatch ? (1 - alpha) * Math.log(probability) - penalty : scores[i];
              candidates.push({ draft: d, token, score: alive[d].score + local });
            });
          }
          candidates.sort((a, b) => b.score - a.score || a.draft - b.draft || a.token - b.token);
          const top = candidates.slice(0, 2 * numDrafts).filter(candidate => candidate.score > -Infinity);
          const grown = top.map(candidate => ({ tokens: [...alive[candidate.draft].tokens, candidate.token], score: candidate.score, ended: eos.has(candidate.token) }));
          finished = [...finished, ...grown.filter(draft => draft.ended).map(({ tokens, score }) => ({ tokens, score }))]
            .sort((a, b) => b.score - a.score)
            .slice(0, numDrafts);
          alive = grown.filter(draft => !draft.ended).slice(0, numDrafts).map(({ tokens, score }) => ({ tokens, score }));
          if (alive.length === 0 || step === steps - 1) break;
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
          logits = lastRow(await sequence.append(embedding, { signal }), vocabSize);
          forwardPasses++;
        }
        return { drafts: alive, finished, forwardPasses };
      } catch (error) {
        if (signal?.aborted && !AbortedError.isInstance(error)) throw new AbortedError({ reason: signal.reason });
        throw error;
      } finally {
        sequence.dispose();
      }
    },
  };
}

function lastRow(logits: Float32Array, vocabSize: number): Float32Array {
  return logits.subarray(logits.length - vocabSize);
}

/** softmax(logits / temperature) cut to its top `count` tokens and renormalized (the official get_top_k). */
function topProbabilities(logits: Float32Array, temperature: number, count: number): { token: number; probability: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = order.slice(0, count).map(token => ({ token, weight: Math.exp((logits[token] - max) / temperature) }));
  const total = kept.reduce((sum, entry) => sum + entry.weight, 0);
  return kept.map(({ token, weight }) => ({ token, probability: weight / total })).filter(entry => entry.probability > 0);
}
