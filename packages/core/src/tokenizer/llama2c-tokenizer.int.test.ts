import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { createTokenizer } from './create-tokenizer.js';
import { createIncrementalDecoder } from './incremental-decoder.js';

// Optional: the real stories260K tokenizer (tok512.bin) through the llama2.c converter of
// @decodekit/models, when both are present. Core does not depend on that package; this only reads it.
const TOKENIZER_PATH = 'karpathy/tinyllamas/stories260K/tok512.bin';
const mirrors = [
  ...(process.env.DECODEKIT_MODELS?.split(delimiter) ?? []),
  fileURLToPath(new URL('../../../../../shared/models', import.meta.url)),
];
const tokenizerFile = mirrors
  .map(mirror => join(mirror, TOKENIZER_PATH))
  .find(path => existsSync(path));
const converterFile = fileURLToPath(
  new URL('../../../models/src/tokenizer-json.ts', import.meta.url),
);
const available = tokenizerFile !== undefined && existsSync(converterFile);

describe.skipIf(!available)('stories260K tokenizer (llama2.c tok512.bin)', async () => {
  if (!available || tokenizerFile === undefined) return;
  // A computed specifier keeps core's typecheck from pulling in the models package.
  const modelsEntry = new URL('../../../models/src/index.js', import.meta.url).href;
  const models = (await import(/* @vite-ignore */ modelsEntry)) as {
    readLlama2cTokenizer(bytes: Uint8Array, path?: string, vocabSize?: number): unknown;
    llama2cTokenizerJson(tokenizer: unknown): Record<string, unknown>;
    llama2cTokenizerConfig(contextLength: number): Record<string, unknown>;
  };
  const tokenizer = createTokenizer({
    tokenizerJson: models.llama2cTokenizerJson(
      models.readLlama2cTokenizer(readFileSync(tokenizerFile), tokenizerFile, 512),
    ),
    tokenizerConfig: models.llama2cTokenizerConfig(512),
  });

  test.prop(
    [
      fc
        .string({ unit: 'grapheme-composite', maxLength: 40 })
        // '▁' is SentencePiece's space marker: it decodes to ' ' (as in Hugging Face).
        .filter(text => !text.includes('▁')),
    ],
    { numRuns: 200 },
  )('round-trips text and streams it exactly', text => {
    const ids = tokenizer.encode(text);
    expect(ids[0]).toBe(tokenizer.bosTokenId);
    expect(tokenizer.decode(ids)).toBe(text);
    const decoder = createIncrementalDecoder(tokenizer);
    expect(ids.map(id => decoder.push(id)).join('') + decoder.flush()).toBe(text);
  });

  test.prop([fc.array(fc.nat(511), { maxLength: 40 })], { numRuns: 200 })(
    'streams random ids exactly',
    ids => {
      const decoder = createIncrementalDecoder(tokenizer);
      expect(ids.map(id => decoder.push(id)).join('') + decoder.flush()).toBe(
        tokenizer.decode(ids),
      );
    },
  );
});
