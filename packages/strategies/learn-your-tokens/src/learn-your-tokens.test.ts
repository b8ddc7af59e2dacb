import { AbortedError, InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import {
  EOW_ID,
  FIRST_CHAR_ID,
  UNK_ID,
  charVocabSize,
  checkEtokConfig,
  checkEtokWeights,
  etokCharset,
  etokWeightShapes,
  splitWords,
  type EtokConfig,
} from './etok-config.js';
import { learnYourTokens, type EtokModel } from './learn-your-tokens.js';

const config: EtokConfig = {
  dim: 2,
  heads: 1,
  ffn: 4,
  encoderLayers: 1,
  wordLayers: 1,
  decoderLayers: 1,
  numPrefix: 1,
  maxChars: 4,
  maxWords: 3,
  chars: 'abcd',
};
const vocab = charVocabSize(config);
const charset = etokCharset(config);

/**
 * A scripted model that records its calls: a word's vector is [its first character id, its length]; the word
 * transformer passes the last vector through; the decoder spells `next(previous word)` and then end-of-word.
 */
function scriptedModel(next: (previous: string) => string) {
  const calls = { encode: [] as number[], predict: [] as number[], decode: 0 };
  const model: EtokModel = {
    config,
    async encodeWords(chars, words) {
      calls.encode.push(words);
      const out = new Float32Array(words * 2);
      for (let w = 0; w < words; w++) {
        const ids = Array.from(chars.subarray(w * 4, w * 4 + 4)).filter(id => id !== 0);
        out[w * 2] = ids[0] ?? 0;
        out[w * 2 + 1] = ids.length;
        // Carry the whole word through a side table keyed by the vector.
        spelled.set(`${out[w * 2]},${out[w * 2 + 1]}`, charset.decode(ids));
      }
      return out;
    },
    async predictWords(vectors, words) {
      calls.predict.push(words);
      return Float32Array.from(vectors);
    },
    async decodeChars(prefixes, chars) {
      calls.decode += 1;
      const previous = spelled.get(`${prefixes[0]},${prefixes[1]}`) ?? '';
      const target = [...charset.encode(next(previous)), EOW_ID];
      const logits = new Float32Array((config.maxChars + 1) * vocab).fill(-5);
      for (let j = 0; j <= config.maxChars; j++) {
        logits[j * vocab + (target[j] ?? EOW_ID)] = 5;
        logits[j * vocab] = 10; // padding: never chosen
      }
      expect(Array.from(chars).every(id => id >= 0)).toBe(true);
      return logits;
    },
  };
  const spelled = new Map<string, string>();
  return { model, calls };
}

describe('learnYourTokens', () => {
  it('takes one word step per word, then spells characters until end-of-word', async () => {
    const cycle: Record<string, string> = { '': 'ab', ab: 'c', c: 'dab', dab: 'ab' };
    const { model, calls } = scriptedModel(previous => cycle[previous] ?? 'a');
    const result = await learnYourTokens({ model }).generate('', { maxNewWords: 5 });
    expect(result.words).toEqual(['ab', 'c', 'dab', 'ab', 'c']);
    expect(result.text).toBe('ab c dab ab c');
    expect(result.reason).toBe('length');
    // Characters plus one end-of-word step per word.
    expect(result.stats).toEqual({
      words: 5,
      wordSteps: 5,
      charSteps: 3 + 2 + 4 + 3 + 2,
      encoderCalls: 5,
    });
    // The prompt (start word only) is encoded once, each new word once; the last word is never encoded.
    expect(calls.encode).toEqual([1, 1, 1, 1, 1]);
    // The word context is cropped to maxWords (3).
    expect(calls.predict).toEqual([1, 2, 3, 3, 3]);
  });

  it('continues a prompt: its words are encoded in one call, after the start word', async () => {
    const { model, calls } = scriptedModel(previous => (previous === 'cab' ? 'dd' : 'a'));
    const result = await learnYourTokens({ model }).generate('  ab\ncab ', { maxNewWords: 2 });
    expect(result.words).toEqual(['dd', 'a']);
    expect(calls.encode[0]).toBe(3);
  });

  it('ends a word at maxChars and the text at an empty word', async () => {
    const { model } = scriptedModel(previous => (previous === '' ? 'abcdab' : ''));
    const result = await learnYourTokens({ model }).generate('', { maxNewWords: 8 });
    expect(result.words).toEqual(['abcd']);
    expect(result.reason).toBe('empty-word');
    expect(result.stats.wordSteps).toBe(2);
  });

  it('streams words and then a done event', async () => {
    const { model } = scriptedModel(() => 'b');
    const events: string[] = [];
    for await (const event of learnYourTokens({ model }).stream('a', { maxNewWords: 2 }))
      events.push(event.type);
    expect(events).toEqual(['word', 'word', 'done']);
  });

  it.each([
    { prompt: 'abcde', options: {}, argument: 'prompt' },
    { prompt: 'a', options: { maxNewWords: 0 }, argument: 'maxNewWords' },
    { prompt: 'a', options: { maxNewWords: 1.5 }, argument: 'maxNewWords' },
  ])('rejects $argument ($prompt, $options)', async ({ prompt, options }) => {
    const { model } = scriptedModel(() => 'a');
    await expect(learnYourTokens({ model }).generate(prompt, options)).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('stops on abort', async () => {
    const { model } = scriptedModel(() => 'a');
    const controller = new AbortController();
    controller.abort();
    await expect(
      learnYourTokens({ model }).generate('a', { signal: controller.signal }),
    ).rejects.toSatisfy(error => AbortedError.isInstance(error));
  });
});

describe('eTok config, charset and weights', () => {
  it('maps words to character ids and back; unknown characters become UNK', () => {
    expect(charset.encode('bad')).toEqual([FIRST_CHAR_ID + 1, FIRST_CHAR_ID, FIRST_CHAR_ID + 3]);
    expect(charset.encode('az')).toEqual([FIRST_CHAR_ID, UNK_ID]);
    expect(charset.decode([FIRST_CHAR_ID + 2, UNK_ID, EOW_ID, FIRST_CHAR_ID])).toBe('ca');
    expect(splitWords(' Once  upon\ta time. ')).toEqual(['Once', 'upon', 'a', 'time.']);
  });

  it.each([
    { change: { heads: 3 }, field: 'heads' },
    { change: { maxWords: 1 }, field: 'maxWords' },
    { change: { numPrefix: 0 }, field: 'numPrefix' },
    { change: { chars: 'aba' }, field: 'chars' },
    { change: { chars: 'a b' }, field: 'chars' },
  ])('rejects a config with a bad $field', ({ change, field }) => {
    expect(() => checkEtokConfig({ ...config, ...change })).toThrow(`config.${field}`);
  });

  it('lists every weight tensor once and checks their sizes', () => {
    const shapes = etokWeightShapes(config);
    expect(new Set(shapes.map(([name]) => name)).size).toBe(shapes.length);
    expect(shapes.find(([name]) => name === 'charEmbedding')?.[1]).toEqual([vocab + 1, 2]);
    const weights = Object.fromEntries(
      shapes.map(([name, shape]) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1))]),
    );
    expect(() => checkEtokWeights(config, weights)).not.toThrow();
    expect(() => checkEtokWeights(config, { ...weights, head: new Float32Array(3) })).toThrow(
      /head must be/,
    );
  });
});
