import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import type { ChatMessage, Tokenizer } from '../types.js';
import { chatTemplateSource, compileChatTemplate, renderPlainChat } from './chat-template.js';
import {
  analyzeDecoder,
  byteLevelDecoderTable,
  DECODE_RULES,
  type DecodeRules,
  type Piece,
  type WithDecodeRules,
} from './decode-rules.js';

/** Matches an unpaired UTF-16 surrogate (paired ones are one code point under the u flag). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Options of `createTokenizer`. */
export interface CreateTokenizerOptions {
  /** The parsed `tokenizer.json`. */
  readonly tokenizerJson: Readonly<Record<string, unknown>>;
  /** The parsed `tokenizer_config.json`: special tokens, `add_bos_token`, `chat_template`... */
  readonly tokenizerConfig?: Readonly<Record<string, unknown>>;
  /**
   * End-of-sequence ids, overriding tokenizer_config's `eos_token` (pass generation_config.json's
   * `eos_token_id`, a number or a list, when the model folder has one).
   */
  readonly eosTokenIds?: number | readonly number[];
  /** Beginning-of-sequence id, overriding tokenizer_config's `bos_token`. */
  readonly bosTokenId?: number;
}

/**
 * A core `Tokenizer` over Hugging Face's `@huggingface/tokenizers` (BPE, Unigram, WordPiece, byte-level
 * BPE: whatever tokenizer.json describes).
 *
 * - `encode(text)` adds special tokens the way transformers does: when tokenizer_config sets
 *   `add_bos_token` / `add_eos_token`, those decide (as `LlamaTokenizerFast` does); otherwise the
 *   tokenizer.json post-processor decides.
 * - `decode` skips special tokens by default and applies `clean_up_tokenization_spaces` only when
 *   tokenizer_config sets it to true (transformers' current default is false; tokenizers.js' is true).
 * - `tokenBytes(id)`: for byte-fallback tokens `<0xNN>` the byte NN; for SentencePiece pieces the UTF-8
 *   of the piece with `▁` replaced by a space; for byte-level BPE the bytes the characters stand for;
 *   undefined for special tokens.
 * - `applyChatTemplate` renders tokenizer_config's `chat_template` with `@huggingface/jinja`, or
 *   decodekit's plain template when there is none (see `renderPlainChat`). `addGenerationPrompt`
 *   defaults to true.
 *
 * @throws ModelFormatError when tokenizer.json is malformed.
 */
export function createTokenizer(options: CreateTokenizerOptions): Tokenizer {
  const { tokenizerJson, tokenizerConfig = {} } = options;
  let inner: HuggingFaceTokenizer;
  try {
    inner = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig);
  } catch (cause) {
    throw new ModelFormatError({
      path: 'tokenizer.json',
      message: `cannot load the tokenizer: ${(cause as Error).message}`,
      cause,
    });
  }

  const vocabulary = inner.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocabulary.values()) vocabSize = Math.max(vocabSize, id + 1);

  const tokenId = (argument: string, token: unknown): number | undefined => {
    const content = tokenContent(token);
    if (content === undefined) return undefined;
    const id = inner.token_to_id(content);
    if (id === undefined) {
      throw new ModelFormatError({
        path: 'tokenizer_config.json',
        message: `${argument} "${content}" is not in the vocabulary of tokenizer.json.`,
      });
    }
    return id;
  };
  const bosTokenId = options.bosTokenId ?? tokenId('bos_token', tokenizerConfig.bos_token);
  const configEos = tokenId('eos_token', tokenizerConfig.eos_token);
  const eosTokenIds =
    normalizeIds('eosTokenIds', options.eosTokenIds) ??
    (configEos === undefined ? [] : [configEos]);
  if (options.bosTokenId !== undefined) normalizeIds('bosTokenId', options.bosTokenId);

  // The special tokens decode skips: tokenizers.js' rule (special added tokens + additional_special_tokens).
  const specialContents = new Set<string>();
  for (const added of arrayOf(tokenizerJson.added_tokens)) {
    const record = added as { content?: unknown; special?: unknown };
    if (record.special === true && typeof record.content === 'string')
      specialContents.add(record.content);
  }
  for (const extra of arrayOf(tokenizerConfig.additional_special_tokens)) {
    if (typeof extra === 'string') specialContents.add(extra);
  }
  const addedContents = new Set<string>(
    arrayOf(tokenizerJson.added_tokens).flatMap(added => {
      const content = (added as { content?: unknown }).content;
      return typeof content === 'string' ? [content] : [];
    }),
  );

  const cleanUp = tokenizerConfig.clean_up_tokenization_spaces === true;
  const addBos =
    typeof tokenizerConfig.add_bos_token === 'boolean' ? tokenizerConfig.add_bos_token : undefined;
  const addEos =
    typeof tokenizerConfig.add_eos_token === 'boolean' ? tokenizerConfig.add_eos_token : undefined;
  const unkToken =
    typeof (inner.model as { unk_token?: unknown } | null)?.unk_token === 'string'
      ? (inner.model as { unk_token: string }).unk_token
      : undefined;

  const rules = buildDecodeRules({
    decoder: tokenizerJson.decoder,
    tokenOf: id => inner.id_to_token(id) ?? unkToken,
    isSpecial: content => specialContents.has(content),
    isAdded: content => addedContents.has(content),
    vocabSize,
    cleanUp,
  });

  let renderChat:
    ((messages: readonly ChatMessage[], addGenerationPrompt: boolean) => string) | undefined;
  const templateSource = chatTemplateSource(tokenizerConfig);
  const specialTokenVariables: Record<string, string> = {};
  for (const name of [
    'bos_token',
    'eos_token',
    'unk_token',
    'pad_token',
    'sep_token',
    'cls_token',
    'mask_token',
  ]) {
    const content = tokenContent(tokenizerConfig[name]);
    if (content !== undefined) specialTokenVariables[name] = content;
  }

  const tokenizer: Tokenizer & WithDecodeRules = {
    vocabSize,
    bosTokenId,
    eosTokenIds,
    encode(text, { addSpecialTokens = true } = {}) {
      if (typeof text !== 'string') {
        throw new InvalidArgumentError({
          argument: 'text',
          message: `encode() takes a string, got ${typeof text}.`,
        });
      }
      if (LONE_SURROGATE.test(text)) {
        // Encoding would silently turn it into U+FFFD (or bytes no model was trained on).
        throw new InvalidArgumentError({
          argument: 'text',
          message:
            'the text contains a lone UTF-16 surrogate, which is not valid Unicode; repair or drop it (e.g. text.toWellFormed()).',
        });
      }
      if (!addSpecialTokens || (addBos === undefined && addEos === undefined)) {
        return inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
      }
      const ids = inner.encode(text, { add_special_tokens: false }).ids;
      if (addBos && bosTokenId !== undefined) ids.unshift(bosTokenId);
      if (addEos && eosTokenIds.length > 0) ids.push(eosTokenIds[0]);
      return ids;
    },
    decode(ids, { skipSpecialTokens = true } = {}) {
      if (ids.length === 0) return '';
      return inner.decode([...ids], {
        skip_special_tokens: skipSpecialTokens,
        clean_up_tokenization_spaces: cleanUp,
      });
    },
    idToToken: id => inner.id_to_token(id),
    tokenBytes(id) {
      const piece = rules?.piece(id) ?? fallbackPiece(id);
      if (piece.kind === 'special') return undefined;
      return piece.kind === 'bytes' ? piece.bytes : utf8.encode(piece.text);
    },
    applyChatTemplate(messages, { addGenerationPrompt = true } = {}) {
      if (templateSource === undefined) return renderPlainChat(messages, addGenerationPrompt);
      renderChat ??= compileChatTemplate(templateSource, specialTokenVariables);
      return renderChat(messages, addGenerationPrompt);
    },
    [DECODE_RULES]: rules,
  };

  // For decoders the rules do not cover: the token's own text, so tokenBytes still answers.
  function fallbackPiece(id: number): Piece {
    const token = inner.id_to_token(id);
    if (token === undefined || specialContents.has(token))
      return { kind: 'special', text: token ?? '' };
    return { kind: 'text', text: token };
  }

  return tokenizer;
}

const utf8 = new TextEncoder();

function buildDecodeRules({
  decoder,
  tokenOf,
  isSpecial,
  isAdded,
  vocabSize,
  cleanUp,
}: {
  decoder: unknown;
  tokenOf: (id: number) => string | undefined;
  isSpecial: (content: string) => boolean;
  isAdded: (content: string) => boolean;
  vocabSize: number;
  cleanUp: boolean;
}): DecodeRules | undefined {
  const shape = analyzeDecoder(decoder);
  if (shape === undefined) return undefined;
  const cache: (Piece | undefined)[] = Array.from({ length: vocabSize }, () => undefined);
  const empty: Piece = { kind: 'text', text: '' };
  let makePiece: (token: string) => Piece;
  if (shape.kind === 'byte-level') {
    const table = byteLevelDecoderTable();
    makePiece = token => {
      if (isSpecial(token)) return { kind: 'special', text: token };
      // tokenizers.js emits every added token verbatim, outside the byte run.
      if (isAdded(token)) return { kind: 'text', text: token };
      return {
        kind: 'bytes',
        bytes: Uint8Array.from(token, character => table.get(character) ?? 0),
      };
    };
  } else {
    const replace = (text: string) => {
      for (const [pattern, content] of shape.replacements) text = text.replaceAll(pattern, content);
      return text;
    };
    makePiece = token => {
      if (isSpecial(token)) return { kind: 'special', text: replace(token) };
      if (
        shape.byteFallback &&
        token.length === 6 &&
        token.startsWith('<0x') &&
        token.endsWith('>')
      ) {
        const byte = parseInt(token.slice(3, 5), 16);
        if (!Number.isNaN(byte)) return { kind: 'bytes', bytes: Uint8Array.of(byte) };
      }
      return { kind: 'text', text: replace(token) };
    };
  }
  return {
    piece(id) {
      const cached = cache[id];
      if (cached !== undefined) return cached;
      const token = tokenOf(id);
      const piece = token === undefined ? empty : makePiece(token);
      if (id >= 0 && id < vocabSize) cache[id] = piece;
      return piece;
    },
    stripLeading: shape.kind === 'sentencepiece' ? shape.stripLeading : 0,
    stripCharacter: shape.kind === 'sentencepiece' ? shape.stripCharacter : ' ',
    cleanUp,
    ignoreBom: shape.kind === 'byte-level',
  };
}

/** The content of a special-token entry of tokenizer_config.json: a string or `{ content }`. */
function tokenContent(token: unknown): string | undefined {
  if (typeof token === 'string') return token;
  if (
    typeof token === 'object' &&
    token !== null &&
    typeof (token as { content?: unknown }).content === 'string'
  ) {
    return (token as { content: string }).content;
  }
  return undefined;
}

function normalizeIds(
  argument: string,
  ids: number | readonly number[] | undefined,
): number[] | undefined {
  if (ids === undefined) return undefined;
  const list = typeof ids === 'number' ? [ids] : [...ids];
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0) {
      throw new InvalidArgumentError({
        argument,
        message: `expected token ids (non-negative integers), got ${String(id)}.`,
      });
    }
  }
  return list;
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
