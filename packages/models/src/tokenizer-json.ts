import { ModelFormatError } from '@decodekit/core';
import type { Llama2cTokenizer } from './llama2c.js';

/** The SentencePiece word-boundary marker used in Hugging Face vocabularies. */
export const SPACE_MARKER = '\u2581';

/** Names of the llama2.c special tokens (ids 0, 1, 2 in run.c). */
const SPECIALS = ['<unk>', '<s>', '</s>'] as const;
const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

/** A vocabulary piece with its merge score. */
export interface ScoredPiece {
  readonly piece: string;
  readonly score: number;
}

/**
 * Hugging Face pieces of a llama2.c tokenizer: ids 0-2 become `<unk>`, `<s>`, `</s>`; byte tokens stay
 * `<0xNN>`; spaces in merged pieces become `▁`.
 */
export function llama2cPieces(
  tokenizer: Llama2cTokenizer,
  path = 'llama2.c tokenizer',
): ScoredPiece[] {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return tokenizer.tokens.map(({ bytes, score }, id) => {
    if (id < SPECIALS.length) return { piece: SPECIALS[id], score };
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (cause) {
      throw new ModelFormatError({
        path,
        message: `token ${id} is not valid UTF-8; pieces must be whole characters.`,
        cause,
      });
    }
    return { piece: BYTE_PIECE.test(text) ? text : text.replaceAll(' ', SPACE_MARKER), score };
  });
}

/**
 * BPE merges derived from piece scores the way Hugging Face's SentencePiece converter does: every split of a
 * piece into two pieces that are both in the vocabulary is a merge; merges are ordered by the merged piece's
 * score (descending), then its id, then the ids of the two halves.
 */
export function mergesFromScores(pieces: readonly ScoredPiece[]): Array<[string, string]> {
  const ids = new Map<string, number>();
  pieces.forEach(({ piece }, id) => {
    if (!ids.has(piece)) ids.set(piece, id);
  });
  const candidates: Array<{
    left: string;
    right: string;
    score: number;
    id: number;
    leftId: number;
    rightId: number;
  }> = [];
  pieces.forEach(({ piece, score }, id) => {
    if (id < SPECIALS.length || BYTE_PIECE.test(piece)) return;
    const chars = Array.from(piece);
    for (let split = 1; split < chars.length; split++) {
      const left = chars.slice(0, split).join('');
      const right = chars.slice(split).join('');
      const leftId = ids.get(left);
      const rightId = ids.get(right);
      if (leftId === undefined || rightId === undefined) continue;
      if (leftId < SPECIALS.length || rightId < SPECIALS.length) continue;
      candidates.push({ left, right, score, id, leftId, rightId });
    }
  });
  candidates.sort(
    (a, b) => b.score - a.score || a.id - b.id || a.leftId - b.leftId || a.rightId - b.rightId,
  );
  return candidates.map(({ left, right }) => [left, right]);
}

/**
 * A Hugging Face `tokenizer.json` (BPE with byte fallback, SentencePiece-style normalizer and decoder, BOS
 * added by the post-processor) equivalent to llama2.c's encoder for ordinary text (see README, "Tokenizer").
 *
 * @throws ModelFormatError when two tokens map to the same piece
 */
export function llama2cTokenizerJson(
  tokenizer: Llama2cTokenizer,
  path = 'llama2.c tokenizer',
): Record<string, unknown> {
  const pieces = llama2cPieces(tokenizer, path);
  const vocab: Record<string, number> = {};
  pieces.forEach(({ piece }, id) => {
    if (Object.hasOwn(vocab, piece)) {
      throw new ModelFormatError({
        path,
        message: `tokens ${vocab[piece]} and ${id} are both "${piece}"; a vocabulary must not repeat a piece.`,
      });
    }
    vocab[piece] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE_MARKER },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARKER },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARKER }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: mergesFromScores(pieces),
    },
  };
}

/** The `tokenizer_config.json` that goes with {@link llama2cTokenizerJson}. */
export function llama2cTokenizerConfig(contextLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'LlamaTokenizerFast',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    model_max_length: contextLength,
    clean_up_tokenization_spaces: false,
    legacy: true,
    chat_template: null,
  };
}
