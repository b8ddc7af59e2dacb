import type { Tokenizer } from '@decodekit/core';

/** Token positions `[start, end)` of the context inside a token sequence. */
export interface ContextSpan {
  /** Position of the first context token. */
  readonly start: number;
  /** Position after the last context token. */
  readonly end: number;
}

const encoder = new TextEncoder();

/**
 * Where `context` first occurs in `tokens`.
 *
 * - Token ids: the first exact occurrence of the id run.
 * - Text: matched on bytes (each token's `tokenizer.tokenBytes`), so it is found whatever way the tokenizer
 *   merged the prompt; the span covers every token that overlaps the text (a token that straddles the
 *   boundary, such as SentencePiece's `▁Lily` for the context `Lily ...`, belongs to the context).
 *
 * Returns undefined when the context does not occur.
 */
export function contextSpan(
  tokens: readonly number[],
  context: string | readonly number[],
  tokenizer?: Pick<Tokenizer, 'tokenBytes'>,
): ContextSpan | undefined {
  if (typeof context !== 'string') {
    const length = context.length;
    if (length === 0) return undefined;
    outer: for (let start = 0; start + length <= tokens.length; start++) {
      for (let i = 0; i < length; i++) if (tokens[start + i] !== context[i]) continue outer;
      return { start, end: start + length };
    }
    return undefined;
  }
  if (!tokenizer) return undefined;
  const needle = encoder.encode(context);
  if (needle.length === 0) return undefined;
  // tokenStart[i] = byte offset of token i in the concatenation; tokenStart[n] = total bytes.
  const tokenStart = new Int32Array(tokens.length + 1);
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < tokens.length; i++) {
    tokenStart[i] = total;
    const bytes = tokenizer.tokenBytes(tokens[i]) ?? new Uint8Array(0);
    pieces.push(bytes);
    total += bytes.length;
  }
  tokenStart[tokens.length] = total;
  const haystack = new Uint8Array(total);
  pieces.forEach((bytes, i) => haystack.set(bytes, tokenStart[i]));
  const at = indexOfBytes(haystack, needle);
  if (at < 0) return undefined;
  const stop = at + needle.length;
  let start = 0;
  // First token whose bytes reach past `at` (zero-byte special tokens before it are not part of the text).
  while (start < tokens.length && tokenStart[start + 1] <= at) start++;
  let end = start;
  while (end < tokens.length && tokenStart[end] < stop) end++;
  return { start, end };
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (
    let at = haystack.indexOf(first);
    at >= 0 && at + needle.length <= haystack.length;
    at = haystack.indexOf(first, at + 1)
  ) {
    for (let i = 1; i < needle.length; i++) if (haystack[at + i] !== needle[i]) continue outer;
    return at;
  }
  return -1;
}
