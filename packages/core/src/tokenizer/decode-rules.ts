/**
 * @internal How a tokenizer's decoder turns ids into text, reduced to what incremental decoding needs.
 * `createTokenizer` derives it from tokenizer.json's `decoder` and attaches it under DECODE_RULES; the
 * rules reproduce `@huggingface/tokenizers`' decode exactly for the decoders they accept (see
 * `analyzeDecoder`), and are absent otherwise.
 */
export const DECODE_RULES: unique symbol = Symbol.for('decodekit.tokenizer.decodeRules') as never;

/** What one id contributes to the decoded text. */
export type Piece =
  /** Bytes that continue the current byte run (byte-fallback tokens, byte-level BPE tokens). */
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /** Text that ends the current byte run and is emitted as is. */
  | { readonly kind: 'text'; readonly text: string }
  /** A special token: dropped entirely when special tokens are skipped, else like 'text'. */
  | { readonly kind: 'special'; readonly text: string };

export interface DecodeRules {
  /** The piece of `id` (O(1), cached). */
  piece(id: number): Piece;
  /** Strip up to this many leading `stripCharacter`s of the whole text (SentencePiece's dummy prefix). */
  readonly stripLeading: number;
  readonly stripCharacter: string;
  /** Apply Hugging Face's `clean_up_tokenization` to the decoded text. */
  readonly cleanUp: boolean;
  /** Keep a UTF-8 byte-order mark at the start of a byte run (ByteLevel) instead of dropping it. */
  readonly ignoreBom: boolean;
}

/** A tokenizer that carries decode rules. */
export interface WithDecodeRules {
  readonly [DECODE_RULES]?: DecodeRules;
}

/** The decoder shapes whose decode incremental decoding reproduces exactly. */
export type DecoderShape =
  | {
      readonly kind: 'sentencepiece';
      /** `Replace` steps applied to each token's text, in order. */
      readonly replacements: readonly (readonly [string, string])[];
      /** `<0xNN>` tokens decode to the byte NN. */
      readonly byteFallback: boolean;
      readonly stripLeading: number;
      readonly stripCharacter: string;
    }
  | { readonly kind: 'byte-level' };

/**
 * Recognises the decoders of SentencePiece-style tokenizers (Llama, Mistral, Gemma...):
 * `Sequence[Replace*, ByteFallback?, Fuse?, Strip(start)?]` (Strip only after Fuse) or a lone
 * `Metaspace`, and byte-level BPE (`ByteLevel`, GPT-2/Llama 3 style). Returns undefined for anything else.
 */
export function analyzeDecoder(decoder: unknown): DecoderShape | undefined {
  if (!isRecord(decoder)) return undefined;
  if (decoder.type === 'ByteLevel') return { kind: 'byte-level' };
  if (decoder.type === 'Metaspace') {
    const replacement = typeof decoder.replacement === 'string' ? decoder.replacement : '▁';
    return {
      kind: 'sentencepiece',
      replacements: [[replacement, ' ']],
      byteFallback: false,
      stripLeading: 1,
      stripCharacter: ' ',
    };
  }
  if (decoder.type !== 'Sequence' || !Array.isArray(decoder.decoders)) return undefined;
  const replacements: [string, string][] = [];
  let byteFallback = false;
  let fused = false;
  let stripLeading = 0;
  let stripCharacter = ' ';
  let phase = 0; // 0: replacements, 1: after ByteFallback, 2: after Fuse, 3: after Strip
  for (const step of decoder.decoders as unknown[]) {
    if (!isRecord(step)) return undefined;
    if (step.type === 'Replace' && phase === 0) {
      const pattern = step.pattern;
      if (!isRecord(pattern) || typeof pattern.String !== 'string') return undefined;
      replacements.push([pattern.String, typeof step.content === 'string' ? step.content : '']);
    } else if (step.type === 'ByteFallback' && phase === 0) {
      byteFallback = true;
      phase = 1;
    } else if (step.type === 'Fuse' && phase <= 1) {
      fused = true;
      phase = 2;
    } else if (step.type === 'Strip' && fused && phase === 2) {
      const content = typeof step.content === 'string' ? step.content : '';
      if (content.length !== 1 || (step.stop ?? 0) !== 0) return undefined;
      stripLeading = typeof step.start === 'number' ? step.start : 0;
      stripCharacter = content;
      phase = 3;
    } else {
      return undefined;
    }
  }
  return { kind: 'sentencepiece', replacements, byteFallback, stripLeading, stripCharacter };
}

/**
 * GPT-2's reversible byte ↔ printable-character table, inverted: the byte each character of a
 * byte-level BPE token stands for.
 */
export function byteLevelDecoderTable(): Map<string, number> {
  const table = new Map<string, number>();
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) ||
      (byte >= 0xa1 && byte <= 0xac) ||
      (byte >= 0xae && byte <= 0xff);
    table.set(String.fromCharCode(printable ? byte : next++), byte);
  }
  return table;
}

/**
 * Hugging Face's `clean_up_tokenization`: removes the space before punctuation and English
 * contractions (" ." → ".", " n't" → "n't"...), applied in this order.
 */
export const CLEAN_UP_RULES: readonly (readonly [RegExp, string])[] = [
  [/ \./g, '.'],
  [/ \?/g, '?'],
  [/ !/g, '!'],
  [/ ,/g, ','],
  [/ ' /g, "'"],
  [/ n't/g, "n't"],
  [/ 'm/g, "'m"],
  [/ 's/g, "'s"],
  [/ 've/g, "'ve"],
  [/ 're/g, "'re"],
];

export function cleanUpTokenization(text: string): string {
  if (!text.includes(' ')) return text;
  for (const [pattern, replacement] of CLEAN_UP_RULES) text = text.replace(pattern, replacement);
  return text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
