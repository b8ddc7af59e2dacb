import type { Tokenizer } from '../types.js';
import {
  cleanUpTokenization,
  DECODE_RULES,
  type DecodeRules,
  type Piece,
  type WithDecodeRules,
} from './decode-rules.js';

/** Options of `createIncrementalDecoder`. */
export interface IncrementalDecoderOptions {
  /** Drop special tokens (BOS, EOS...) from the text, as `decode` does by default. Default true. */
  readonly skipSpecialTokens?: boolean;
  /**
   * Ids already in the text before the stream (the prompt). They are not streamed, but they decide how the
   * first deltas decode: a generated `▁word` after a prompt keeps its space.
   */
  readonly prefix?: readonly number[];
}

/** Turns a stream of token ids into text deltas. */
export interface IncrementalDecoder {
  /** Feeds one id; returns the text it completes (often '', e.g. inside a multi-byte character). */
  push(tokenId: number): string;
  /** Ends the stream: returns the text still held back (an incomplete character becomes U+FFFD). */
  flush(): string;
}

/**
 * Incremental detokenization: the concatenation of every `push` delta plus `flush()` equals
 * `tokenizer.decode(allIds, { skipSpecialTokens })`, and a delta never ends inside a UTF-8 character.
 *
 * For tokenizers made by `createTokenizer` with a SentencePiece-style or byte-level decoder (Llama,
 * Mistral, GPT-2, Llama 3...), each `push` is O(1): it works from the token's bytes, buffers byte-fallback
 * bytes until a character is complete (a streaming UTF-8 decoder), drops the SentencePiece dummy-prefix
 * space at the start of the text the way the decoder's `Strip`/`Metaspace` step does, and, when the
 * tokenizer cleans up tokenization spaces, holds back at most a few characters that a clean-up rule
 * (" ." → ".", " n't" → "n't") could still change.
 *
 * Other tokenizers from `createTokenizer` fall back to re-decoding the ids so far at each push (O(n),
 * exact as long as their decode is prefix-stable). A foreign `Tokenizer` (a mock) is decoded from
 * `tokenBytes` as one UTF-8 stream, with `idToToken` text for special tokens kept.
 */
export function createIncrementalDecoder(
  tokenizer: Tokenizer,
  { skipSpecialTokens = true, prefix = [] }: IncrementalDecoderOptions = {},
): IncrementalDecoder {
  const rules = (tokenizer as WithDecodeRules)[DECODE_RULES];
  const decoder =
    rules !== undefined
      ? streamingDecoder(rules, skipSpecialTokens)
      : DECODE_RULES in tokenizer
        ? redecodingDecoder(tokenizer, skipSpecialTokens)
        : streamingDecoder(rulesFromInterface(tokenizer), skipSpecialTokens);
  // The prompt's text is not streamed, but it decides the first delta: after a prompt, a generated
  // '▁word' keeps its space (the dummy-prefix strip applies only at the very start of the text).
  for (const id of prefix) decoder.push(id);
  return decoder;
}

function streamingDecoder(rules: DecodeRules, skipSpecialTokens: boolean): IncrementalDecoder {
  let run: TextDecoder | undefined;
  let stripLeft = rules.stripLeading;
  const cleaner = rules.cleanUp ? cleanUpStream() : undefined;

  const endRun = (): string => {
    if (run === undefined) return '';
    const text = run.decode();
    run = undefined;
    return text;
  };
  const emit = (text: string): string => {
    if (text.length === 0) return text;
    if (stripLeft > 0) {
      let cut = 0;
      while (stripLeft > 0 && cut < text.length && text[cut] === rules.stripCharacter) {
        cut++;
        stripLeft--;
      }
      // The first other character ends the dummy-prefix strip for good.
      if (cut < text.length) stripLeft = 0;
      text = text.slice(cut);
    }
    return cleaner === undefined ? text : cleaner.push(text);
  };

  return {
    push(tokenId) {
      const piece: Piece = rules.piece(tokenId);
      if (piece.kind === 'bytes') {
        run ??= new TextDecoder('utf-8', { ignoreBOM: rules.ignoreBom });
        return emit(run.decode(piece.bytes, { stream: true }));
      }
      if (piece.kind === 'special' && skipSpecialTokens) return '';
      return emit(endRun() + piece.text);
    },
    flush() {
      const text = emit(endRun());
      return cleaner === undefined ? text : text + cleaner.flush();
    },
  };
}

/**
 * Streams `clean_up_tokenization`. Every rule starts with a space and spans at most 4 characters, and
 * the only characters rules delete are spaces. So a cut is safe (cleaning both sides apart gives the
 * same text as cleaning them together) when the 3 characters before it hold no space, or exactly one
 * space that no rule can delete or start from: one followed by a character other than . ? ! , ' n and
 * not preceded by '.
 */
function cleanUpStream(): { push(text: string): string; flush(): string } {
  let pending = '';
  let recent = ''; // the last 4 raw characters already emitted
  const safeAt = (text: string): boolean => {
    const tail = text.slice(-4);
    const window = tail.slice(-3);
    const space = window.indexOf(' ');
    if (space === -1) return true;
    if (space !== window.lastIndexOf(' ') || space === window.length - 1) return false;
    if (".?!,'n".includes(window[space + 1])) return false;
    const before = tail.length - window.length + space - 1;
    return before < 0 || tail[before] !== "'";
  };
  return {
    push(text) {
      pending += text;
      for (let cut = pending.length; cut > 0; cut--) {
        const head = pending.slice(0, cut);
        if (!safeAt(recent + head)) continue;
        pending = pending.slice(cut);
        recent = (recent + head).slice(-4);
        return cleanUpTokenization(head);
      }
      return '';
    },
    flush() {
      const text = cleanUpTokenization(pending);
      recent = (recent + pending).slice(-4);
      pending = '';
      return text;
    },
  };
}

/** Exact for any prefix-stable decode, O(n) per push. */
function redecodingDecoder(tokenizer: Tokenizer, skipSpecialTokens: boolean): IncrementalDecoder {
  const ids: number[] = [];
  let emitted = 0;
  const take = (final: boolean): string => {
    const text = tokenizer.decode(ids, { skipSpecialTokens });
    // Hold back a trailing replacement character: more bytes may complete it.
    const end = !final && text.endsWith('\uFFFD') ? text.length - 1 : text.length;
    if (end <= emitted) return '';
    const delta = text.slice(emitted, end);
    emitted = end;
    return delta;
  };
  return {
    push(tokenId) {
      ids.push(tokenId);
      return take(false);
    },
    flush: () => take(true),
  };
}

function rulesFromInterface(tokenizer: Tokenizer): DecodeRules {
  const cache = new Map<number, Piece>();
  return {
    piece(id) {
      let piece = cache.get(id);
      if (piece === undefined) {
        const bytes = tokenizer.tokenBytes(id);
        piece =
          bytes === undefined
            ? { kind: 'special', text: tokenizer.idToToken(id) ?? '' }
            : { kind: 'bytes', bytes };
        cache.set(id, piece);
      }
      return piece;
    },
    stripLeading: 0,
    stripCharacter: ' ',
    cleanUp: false,
    ignoreBom: true,
  };
}
