import { InvalidArgumentError } from '@decodekit/core';
import type { ChunkScorer } from './chunk-scorer.js';

/** Options of `shortenContext`. */
export interface ShortenOptions {
  /** Tokens kept verbatim at the start (the BOS token). Default 1. */
  readonly keepPrefix?: number;
  /** Tokens kept verbatim at the end (the recent context; also the retrieval query). Default 64. */
  readonly recentTokens?: number;
  /** Tokens per chunk of the middle part. Default 32. */
  readonly chunkTokens?: number;
  /** Chunks kept. Default 4. */
  readonly topChunks?: number;
  /** Ranks the chunks; default `bm25ChunkScorer()`. */
  readonly scorer: ChunkScorer;
  readonly signal?: AbortSignal;
}

/** The RAG context and which chunks made it. */
export interface ShortenedContext {
  readonly tokens: number[];
  /** Start offsets (in the full context) of the kept chunks, in context order. */
  readonly chunkStarts: number[];
}

/** Validates the numeric options of `shortenContext` (shared with `rapidDrafter`). */
export function checkShortenOptions({
  keepPrefix,
  recentTokens,
  chunkTokens,
  topChunks,
}: Record<string, number>): void {
  for (const [name, value, min] of [
    ['keepPrefix', keepPrefix, 0],
    ['recentTokens', recentTokens, 1],
    ['chunkTokens', chunkTokens, 1],
    ['topChunks', topChunks, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError({
        argument: name,
        message: `must be an integer >= ${min}, got ${String(value)}`,
      });
    }
  }
}

/**
 * RAPID's RAG context: `prefix ; top chunks of the middle (in context order) ; recent tokens`. The middle part
 * is cut into `chunkTokens` chunks, scored against the recent tokens, and the best `topChunks` are kept. A
 * context that already fits `keepPrefix + topChunks·chunkTokens + recentTokens` is returned whole.
 */
export async function shortenContext(
  context: readonly number[],
  options: ShortenOptions,
): Promise<ShortenedContext> {
  const {
    keepPrefix = 1,
    recentTokens = 64,
    chunkTokens = 32,
    topChunks = 4,
    scorer,
    signal,
  } = options;
  checkShortenOptions({ keepPrefix, recentTokens, chunkTokens, topChunks });
  if (context.length <= keepPrefix + topChunks * chunkTokens + recentTokens)
    return { tokens: [...context], chunkStarts: [] };
  const middleEnd = context.length - recentTokens;
  const starts: number[] = [];
  const chunks: number[][] = [];
  for (let start = keepPrefix; start < middleEnd; start += chunkTokens) {
    starts.push(start);
    chunks.push(context.slice(start, Math.min(start + chunkTokens, middleEnd)));
  }
  const recent = context.slice(middleEnd);
  const scores = await scorer(chunks, recent, { signal });
  if (scores.length !== chunks.length) {
    throw new InvalidArgumentError({
      argument: 'scorer',
      message: `returned ${scores.length} scores for ${chunks.length} chunks`,
    });
  }
  // Best first; ties go to the later chunk (closer to the recent context).
  const kept = chunks
    .map((_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || b - a)
    .slice(0, topChunks)
    .sort((a, b) => a - b);
  return {
    tokens: [...context.slice(0, keepPrefix), ...kept.flatMap(i => chunks[i]), ...recent],
    chunkStarts: kept.map(i => starts[i]),
  };
}
