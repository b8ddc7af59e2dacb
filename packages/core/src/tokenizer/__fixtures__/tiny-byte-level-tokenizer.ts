import { byteLevelDecoderTable } from '../decode-rules.js';

/**
 * A tiny GPT-2-style byte-level BPE tokenizer.json: the 256 byte characters, a few merges, ByteLevel
 * pre-tokenizer and decoder, `<|endoftext|>` (special) and `<|tool|>` (added, not special) at the end.
 */
export function tinyByteLevelTokenizerJson(): Record<string, unknown> {
  const characters = [...byteLevelDecoderTable().entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([character]) => character);
  const merges: [string, string][] = [
    ['Ġ', 't'],
    ['h', 'e'],
    ['Ġt', 'he'],
    ['ä', '¸'],
  ];
  const vocab: string[] = [...characters, ...merges.map(([left, right]) => left + right)];
  const added = ['<|endoftext|>', '<|tool|>'];
  return {
    version: '1.0',
    added_tokens: added.map((content, index) => ({
      id: vocab.length + index,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: content === '<|endoftext|>',
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}
