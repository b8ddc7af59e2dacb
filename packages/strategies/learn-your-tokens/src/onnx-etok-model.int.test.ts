import { readFileSync } from 'node:fs';
import { AbortedError, ModelFormatError } from '@decodekit/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etokCharset, parseEtokConfig, splitWords } from './etok-config.js';
import { learnYourTokens } from './learn-your-tokens.js';
import { onnxEtokModel, type EtokGraphs, type OnnxEtokModel } from './onnx-etok-model.js';

const dir = new URL('../weights/stories260K/', import.meta.url);
const read = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const file = JSON.parse(readFileSync(new URL('etok.json', dir), 'utf8')) as { config: unknown };
const config = parseEtokConfig(file.config, 'etok.json');
const graphs: EtokGraphs = {
  charEncoder: read('char_encoder.onnx'),
  wordTransformer: read('word_transformer.onnx'),
  charDecoder: read('char_decoder.onnx'),
};
let model: OnnxEtokModel;

beforeAll(async () => {
  model = await onnxEtokModel({ ort, graphs, config });
});
afterAll(async () => {
  await model.dispose();
});

describe('the shipped eTok model on ONNX Runtime', () => {
  it('writes story words, one word step per word, deterministically', async () => {
    const decoder = learnYourTokens({ model });
    const result = await decoder.generate('Once upon a time,', { maxNewWords: 16 });
    expect(result.words.length).toBeGreaterThan(0);
    expect(result.text).toBe(result.words.join(' '));
    const charset = etokCharset(config);
    for (const word of result.words) {
      expect(word.length).toBeLessThanOrEqual(config.maxChars);
      expect(charset.decode(charset.encode(word))).toBe(word); // only known characters
      expect(splitWords(word)).toEqual([word]);
    }
    expect(result.stats.wordSteps).toBe(
      result.words.length + (result.reason === 'empty-word' ? 1 : 0),
    );
    expect(result.stats.charSteps).toBeGreaterThanOrEqual(result.text.replace(/ /gu, '').length);
    expect((await decoder.generate('Once upon a time,', { maxNewWords: 16 })).words).toEqual(
      result.words,
    );
  });

  it('stops when aborted mid-generation', async () => {
    const controller = new AbortController();
    const decoder = learnYourTokens({ model });
    const words: string[] = [];
    await expect(
      (async () => {
        for await (const event of decoder.stream('The cat', {
          maxNewWords: 32,
          signal: controller.signal,
        })) {
          if (event.type === 'word') {
            words.push(event.word);
            if (words.length === 2) controller.abort();
          }
        }
      })(),
    ).rejects.toSatisfy(error => AbortedError.isInstance(error));
    expect(words).toHaveLength(2);
  });

  it('rejects graphs that do not have the I/O of their part', async () => {
    await expect(
      onnxEtokModel({
        ort,
        graphs: { ...graphs, charEncoder: graphs.charDecoder },
        config,
      }),
    ).rejects.toSatisfy(error => ModelFormatError.isInstance(error));
  });
});
