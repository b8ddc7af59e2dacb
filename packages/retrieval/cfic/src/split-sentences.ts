/** A sentence of a document with its character offsets (`text === document.slice(start, end)`). */
export interface Sentence {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Splits a document into sentences: a sentence ends after `.`, `!` or `?` (with any closing quotes or
 * brackets) followed by whitespace, or at a blank line. Leading and trailing whitespace is not part of a
 * sentence; empty pieces are dropped.
 */
export function splitSentences(document: string): Sentence[] {
  const sentences: Sentence[] = [];
  const boundary = /[.!?]+["'”’)\]]*(?=\s)|\n\s*\n/g;
  let from = 0;
  const push = (end: number): void => {
    let start = from;
    let stop = end;
    while (start < stop && /\s/.test(document[start])) start++;
    while (stop > start && /\s/.test(document[stop - 1])) stop--;
    if (stop > start) sentences.push({ text: document.slice(start, stop), start, end: stop });
  };
  for (const match of document.matchAll(boundary)) {
    const end = match.index + (match[0].startsWith('\n') ? 0 : match[0].length);
    push(end);
    from = match.index + match[0].length;
  }
  push(document.length);
  return sentences;
}
