/**
 * Text metrics of generated continuations. Every metric works on *words*: the text lower-cased and split
 * into runs of letters/digits and single punctuation marks (`wordsOf`), so scores do not depend on a
 * model's tokenizer and compare across models.
 */

/** Lower-cased words and punctuation marks of `text` (`/[\p{L}\p{N}']+|[^\s\p{L}\p{N}]/gu`). */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** The n-grams of `words`, each joined with a control character that cannot occur in a word. */
export function ngramsOf(words: readonly string[], n: number): string[] {
  const grams: string[] = [];
  for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join('\u0001'));
  return grams;
}

/**
 * distinct-n (Li et al., 2016, "A Diversity-Promoting Objective Function for Neural Conversation
 * Models"): distinct n-grams / all n-grams, pooled over every text of the set. 0 when there are no n-grams.
 */
export function distinctN(texts: readonly string[], n: number): number {
  let total = 0;
  const distinct = new Set<string>();
  for (const text of texts) {
    const grams = ngramsOf(wordsOf(text), n);
    total += grams.length;
    for (const gram of grams) distinct.add(gram);
  }
  return total === 0 ? 0 : distinct.size / total;
}

/**
 * Repetition rate: Welleck et al. (2019)'s seq-rep-n, `1 − distinct n-grams / n-grams` inside each text,
 * averaged over texts (n = 4 by default). 0 = no n-gram repeats inside any text; near 1 = a text loops.
 * Texts shorter than n words count as 0.
 */
export function repetitionRate(texts: readonly string[], n = 4): number {
  if (texts.length === 0) return 0;
  let sum = 0;
  for (const text of texts) {
    const grams = ngramsOf(wordsOf(text), n);
    if (grams.length > 0) sum += 1 - new Set(grams).size / grams.length;
  }
  return sum / texts.length;
}

function counts(grams: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const gram of grams) map.set(gram, (map.get(gram) ?? 0) + 1);
  return map;
}

/**
 * Sentence BLEU of `hypothesis` against `references` (word lists), as NLTK's `sentence_bleu` with uniform
 * weights up to `maxOrder` and `SmoothingFunction().method1` (a zero n-gram match count becomes 0.1, over at least 1):
 * clipped n-gram precisions, geometric mean, brevity penalty against the closest reference length.
 */
export function sentenceBleu(
  hypothesis: readonly string[],
  references: readonly (readonly string[])[],
  maxOrder = 4,
): number {
  if (hypothesis.length === 0 || references.length === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= maxOrder; n++) {
    const hypothesisCounts = counts(ngramsOf(hypothesis, n));
    const maxReference = new Map<string, number>();
    for (const reference of references) {
      for (const [gram, count] of counts(ngramsOf(reference, n))) {
        if (count > (maxReference.get(gram) ?? 0)) maxReference.set(gram, count);
      }
    }
    let matched = 0;
    let total = 0;
    for (const [gram, count] of hypothesisCounts) {
      matched += Math.min(count, maxReference.get(gram) ?? 0);
      total += count;
    }
    // As NLTK: no unigram match → 0; otherwise a zero count (or no n-grams at all) becomes 0.1 / max(1, total).
    if (n === 1 && matched === 0) return 0;
    logSum += Math.log((matched === 0 ? 0.1 : matched) / Math.max(1, total)) / maxOrder;
  }
  const length = hypothesis.length;
  let closest = references[0].length;
  for (const reference of references) {
    const distance = Math.abs(reference.length - length);
    const best = Math.abs(closest - length);
    if (distance < best || (distance === best && reference.length < closest))
      closest = reference.length;
  }
  const brevity = length > closest ? 1 : Math.exp(1 - closest / length);
  return brevity * Math.exp(logSum);
}

/**
 * Self-BLEU (Zhu et al., 2018, Texygen): the mean BLEU-4 of each text against all the other texts of the
 * set as references. Higher = the texts resemble each other (less diverse). Needs at least two texts;
 * returns 0 otherwise.
 */
export function selfBleu(texts: readonly string[], maxOrder = 4): number {
  if (texts.length < 2) return 0;
  const words = texts.map(wordsOf);
  let sum = 0;
  for (let i = 0; i < words.length; i++) {
    sum += sentenceBleu(
      words[i],
      words.filter((_, j) => j !== i),
      maxOrder,
    );
  }
  return sum / words.length;
}
