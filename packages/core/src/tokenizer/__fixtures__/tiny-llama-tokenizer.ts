/**
 * A tiny SentencePiece-style Llama tokenizer.json, built in code: BPE with byte fallback, `▁` pieces,
 * the 256 byte tokens `<0x00>`..`<0xFF>`, and Llama's normalizer, decoder and post-processor. Ids:
 * 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3..258 bytes, then the pieces below, then the added `<sep>` (not special).
 */
const SPECIALS = ['<unk>', '<s>', '</s>'];
const BYTES = Array.from(
  { length: 256 },
  (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`,
);
const CHARACTERS = [..."▁abcdefghijklmnopqrstuvwxyzOTH.,!?'世"];
const MERGES: [string, string][] = [
  ['▁', 't'],
  ['h', 'e'],
  ['▁t', 'he'],
  ['▁', 'c'],
  ['a', 't'],
  ['▁c', 'at'],
  ['▁', 'a'],
  ['▁', 's'],
  ['▁s', 'at'],
  ["'", 's'],
  ['▁', 'O'],
  ['n', "'"],
  ["n'", 't'],
  ['▁', '▁'],
];
const PIECES = [...CHARACTERS, ...MERGES.map(([left, right]) => left + right)];

export const TINY_VOCAB: readonly string[] = [...SPECIALS, ...BYTES, ...PIECES];
export const SEP_ID = TINY_VOCAB.length;
export const BYTE_BASE = SPECIALS.length;

export function tinyLlamaTokenizerJson(): Record<string, unknown> {
  const vocab = Object.fromEntries(TINY_VOCAB.map((token, id) => [token, id]));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      ...SPECIALS.map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      {
        id: SEP_ID,
        content: '<sep>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: false,
      },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
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
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
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
      merges: MERGES.map(([left, right]) => `${left} ${right}`),
    },
  };
}

export function tinyLlamaTokenizerConfig(
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: {
      __type: 'AddedToken',
      content: '<s>',
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
    },
    eos_token: '</s>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    legacy: false,
    model_max_length: 2048,
    tokenizer_class: 'LlamaTokenizer',
    ...overrides,
  };
}
