import { InvalidArgumentError } from '@decodekit/core';
import type { Tokenizer } from '@decodekit/core';
import type { JudgeLabeler } from './judge-decoding.js';

/**
 * A checkable correctness task for story models: **grounded character names**. A continuation is correct when
 * every character name it mentions already occurs in its context (no invented characters, no wrong names).
 * Names are the words a story corpus writes capitalised in the middle of a sentence ("... said Lily", "a dog
 * named Spot"), collected by `characterNames()`; the check itself is `foreignNames()`. Used to label draft
 * tokens correct/incorrect for the judge head (`groundedNamesLabeler()`), and to score outputs (task accuracy).
 */

const WORD = /[A-Za-z]+/g;
/** Capitalised words in the middle of a sentence: right after a lower-case word or a comma and spaces. */
const MID_SENTENCE_CAPITAL = /(?<=[a-z,;] +)([A-Z][a-z]+)\b/g;

/** Options of `characterNames()`. */
export interface CharacterNamesOptions {
  /** Keep a name written capitalised mid-sentence at least this many times. Default 2. */
  minCount?: number;
}

/**
 * The character names of a story corpus: words written capitalised in the middle of a sentence (after a
 * lower-case word or a comma), at least `minCount` times. In children's stories these are the characters'
 * names (and Mom, Dad). `I` is never a name.
 * @param texts the corpus (for the shipped task: the target model's own generations)
 * @param options the count threshold
 */
export function characterNames(
  texts: Iterable<string>,
  options: CharacterNamesOptions = {},
): Set<string> {
  const { minCount = 2 } = options;
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new InvalidArgumentError({
      argument: 'minCount',
      message: `must be a positive integer, got ${String(minCount)}.`,
    });
  }
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(MID_SENTENCE_CAPITAL))
      counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, count]) => count >= minCount).map(([name]) => name));
}

/** A name the continuation mentions that its context does not, with its offsets in the continuation. */
export interface ForeignName {
  name: string;
  start: number;
  end: number;
}

/**
 * The names in `continuation` (words of `names`, wherever they stand) that never occur as a word in `context`.
 * An empty list means the continuation passes the grounded-names check.
 * @param context the prompt the continuation follows
 * @param continuation the generated text
 * @param names the character names (from `characterNames()`)
 */
export function foreignNames(
  context: string,
  continuation: string,
  names: ReadonlySet<string>,
): ForeignName[] {
  const known = new Set(context.match(WORD) ?? []);
  const found: ForeignName[] = [];
  for (const match of continuation.matchAll(WORD)) {
    const word = match[0];
    if (names.has(word) && !known.has(word))
      found.push({ name: word, start: match.index, end: match.index + word.length });
  }
  return found;
}

/**
 * Labels each continuation token by the grounded-names check: 0 when the token's bytes overlap a name the
 * context does not contain (every token of an invented or wrong name), 1 otherwise. Correctness comes from the
 * task, not from the target's likelihood: a token the target finds unlikely but that keeps the story grounded
 * is labelled correct.
 * @param options the tokenizer of the pair and the character names
 */
export function groundedNamesLabeler(options: {
  tokenizer: Tokenizer;
  names: ReadonlySet<string>;
}): JudgeLabeler {
  const { tokenizer, names } = options ?? ({} as { tokenizer: Tokenizer; names: Set<string> });
  if (!tokenizer || typeof tokenizer.tokenBytes !== 'function') {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: "needs the pair's Tokenizer (model.tokenizer).",
    });
  }
  if (!(names instanceof Set) || names.size === 0) {
    throw new InvalidArgumentError({
      argument: 'names',
      message: 'needs a non-empty Set of character names (characterNames(corpus)).',
    });
  }
  return ({ prompt, continuation }) => {
    // Work on bytes as Latin-1 characters: names are ASCII, and offsets stay byte offsets per token.
    const spans: number[] = [];
    let text = '';
    for (const id of continuation) {
      spans.push(text.length);
      const bytes = tokenizer.tokenBytes(id);
      if (bytes) text += String.fromCharCode(...bytes);
    }
    spans.push(text.length);
    const bad = foreignNames(tokenizer.decode(prompt), text, names);
    return continuation.map((_, i) =>
      bad.some(name => name.start < spans[i + 1] && name.end > spans[i]) ? 0 : 1,
    );
  };
}
