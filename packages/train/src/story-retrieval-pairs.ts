import {
  analyzeText,
  bm25Index,
  createDecoder,
  InvalidArgumentError,
  type CausalLM,
  type Decoder,
  type Tokenizer,
} from '@decodekit/core';

/** A query and its one relevant document, as text. */
export interface RetrievalPair {
  readonly query: string;
  readonly document: string;
}

/** Tokens of the greedy continuation that makes a document (the SPLADE bench uses 64). */
export const STORY_DOCUMENT_TOKENS = 64;

const SENTENCE_END = /(?<=[.!?])\s/;

/** The first sentence of a text (up to the first `.`, `!` or `?` followed by white space). */
export function firstSentence(text: string): string {
  return text.split(SENTENCE_END)[0];
}

/**
 * The retrieval pair of a story prompt, as the SPLADE bench (`packages/retrieval/splade/scripts`) builds it:
 * the document is the model's greedy continuation of the prompt (`documentTokens` tokens, the prompt left
 * out, trimmed), the query is the prompt's first sentence.
 * @param decoder a plain decoder of the model (greedy at temperature 0)
 * @param prompt the story prompt
 * @param documentTokens tokens of the continuation
 */
export async function storyRetrievalPair(
  decoder: Decoder,
  prompt: string,
  documentTokens = STORY_DOCUMENT_TOKENS,
): Promise<RetrievalPair> {
  const { text } = await decoder.generate(prompt, { maxTokens: documentTokens, temperature: 0 });
  return { query: firstSentence(prompt), document: text.trim() };
}

/** Options of `generateStoryRetrievalPairs`. */
export interface StoryRetrievalPairsOptions {
  /** Pairs to make. */
  count: number;
  /** Seed of the sampled prompts (attempt i samples with seed + i): same seed, same pairs. */
  seed: number;
  /** Tokens sampled at T = 1 after BOS, from which the prompt's sentences are cut. Default 48. */
  promptTokens?: number;
  /** Tokens of each document. Default 64 (`STORY_DOCUMENT_TOKENS`). */
  documentTokens?: number;
  /** Pairs kept out (a held-out bench): no pair shares a query or a document text with them. */
  exclude?: readonly RetrievalPair[];
  /** Sampled prompts tried before giving up (a small model repeats itself). Default 20 × count. */
  maxAttempts?: number;
  /**
   * A finished run of the same seed and `exclude` with fewer pairs (`pairs`, and the prompts it sampled,
   * `attempts`): generation goes on from attempt `attempts`, so the result equals a run from scratch.
   */
  resume?: { readonly pairs: readonly RetrievalPair[]; readonly attempts: number };
  onProgress?: (pairs: number, attempts: number) => void;
}

/**
 * Training pairs for a decoder-LM SPLADE encoder, made from the model's own stories with the construction of
 * the held-out bench but from prompts the model samples itself: attempt i samples `promptTokens` tokens after
 * BOS at T = 1 (seed + i), keeps the first one (even i) or two (odd i) complete sentences as the prompt, and
 * makes the pair with `storyRetrievalPair`. Queries and documents are all distinct (the other pairs of a batch
 * are a query's negatives), and none equals a query or document of `exclude`.
 * @param model the model, with its tokenizer
 * @param options how many pairs, the seed, what to keep out
 * @returns the pairs and the number of sampled prompts it took
 */
export async function generateStoryRetrievalPairs(
  model: CausalLM & { tokenizer?: Tokenizer },
  options: StoryRetrievalPairsOptions,
): Promise<{ pairs: RetrievalPair[]; attempts: number }> {
  const {
    count,
    seed,
    promptTokens = 48,
    documentTokens = STORY_DOCUMENT_TOKENS,
    exclude = [],
    maxAttempts = 20 * count,
  } = options;
  const positive = (argument: string, value: number) => {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${value}.`,
      });
  };
  positive('count', count);
  positive('promptTokens', promptTokens);
  positive('documentTokens', documentTokens);
  positive('maxAttempts', maxAttempts);
  if (!Number.isSafeInteger(seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be an integer, got ${seed}.`,
    });
  const { resume = { pairs: [], attempts: 0 } } = options;
  if (
    !Number.isInteger(resume.attempts) ||
    resume.attempts < resume.pairs.length ||
    resume.pairs.length > count
  )
    throw new InvalidArgumentError({
      argument: 'resume',
      message: `a resumed run needs at most ${count} pairs and at least as many attempts as pairs, got ${resume.pairs.length} pairs in ${resume.attempts} attempts.`,
    });
  if (!model.tokenizer)
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'retrieval pairs are text: load the model with its tokenizer.',
    });
  const decoder = createDecoder({ model, tokenizer: model.tokenizer });
  const bos = model.info.bosTokenId ?? 1;
  const queries = new Set([...exclude, ...resume.pairs].map(pair => pair.query));
  const documents = new Set([...exclude, ...resume.pairs].map(pair => pair.document));
  const pairs: RetrievalPair[] = [...resume.pairs];
  let attempts = resume.attempts;
  while (pairs.length < count && attempts < maxAttempts) {
    const i = attempts++;
    const { text } = await decoder.generate(
      { tokens: [bos] },
      { maxTokens: promptTokens, temperature: 1, seed: seed + i },
    );
    const sentences = text.trim().split(SENTENCE_END);
    const wanted = 1 + (i % 2);
    // The last piece may be cut mid-sentence; only complete sentences make a prompt.
    const complete = sentences
      .slice(0, -1)
      .concat(/[.!?]$/.test(sentences.at(-1) ?? '') ? [sentences.at(-1) ?? ''] : []);
    if (complete.length < wanted || complete.slice(0, wanted).some(s => s.includes('\n'))) continue;
    const prompt = complete.slice(0, wanted).join(' ');
    const pair = await storyRetrievalPair(decoder, prompt, documentTokens);
    if (!pair.document || queries.has(pair.query) || documents.has(pair.document)) continue;
    queries.add(pair.query);
    documents.add(pair.document);
    pairs.push(pair);
    options.onProgress?.(pairs.length, attempts);
  }
  return { pairs, attempts };
}

/**
 * BM25 hard negatives (SPLADE v2, Formal et al., 2021): for each pair, the index of the other pair whose
 * document BM25 (core's, over `analyzeText` words) ranks highest for this pair's query, or -1 when no other
 * document shares a word with it. Documents that equal the pair's own are skipped.
 * @param pairs the training pairs
 * @returns one index into `pairs` (or -1) per pair
 */
export function bm25HardNegatives(pairs: readonly RetrievalPair[]): number[] {
  const index = bm25Index<string, number>();
  pairs.forEach((pair, i) => index.set(i, analyzeText(pair.document)));
  return pairs.map((pair, i) => {
    let best = -1;
    let bestScore = 0;
    for (const [j, score] of index.scores(analyzeText(pair.query))) {
      if (j !== i && pairs[j].document !== pair.document && score > bestScore) {
        best = j;
        bestScore = score;
      }
    }
    return best;
  });
}
