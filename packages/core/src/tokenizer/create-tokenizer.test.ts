import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import {
  BYTE_BASE,
  SEP_ID,
  TINY_VOCAB,
  tinyLlamaTokenizerConfig,
  tinyLlamaTokenizerJson,
} from './__fixtures__/tiny-llama-tokenizer.js';
import { createTokenizer } from './create-tokenizer.js';

const id = (token: string) => TINY_VOCAB.indexOf(token);
const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('createTokenizer', () => {
  const tokenizer = createTokenizer({
    tokenizerJson: tinyLlamaTokenizerJson(),
    tokenizerConfig: tinyLlamaTokenizerConfig(),
  });

  it('reads the vocabulary and special tokens', () => {
    expect(tokenizer.vocabSize).toBe(TINY_VOCAB.length + 1);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenIds).toEqual([2]);
    expect(tokenizer.idToToken(id('▁cat'))).toBe('▁cat');
    expect(tokenizer.idToToken(SEP_ID)).toBe('<sep>');
    expect(tokenizer.idToToken(10_000)).toBeUndefined();
  });

  it.each([
    { text: 'the cat sat', special: [1, id('▁the'), id('▁cat'), id('▁sat')] },
    {
      text: '世界',
      special: [1, id('▁'), id('世'), BYTE_BASE + 0xe7, BYTE_BASE + 0x95, BYTE_BASE + 0x8c],
    },
  ])('encodes $text with BOS by default and without on request', ({ text, special }) => {
    expect(tokenizer.encode(text)).toEqual(special);
    expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(special.slice(1));
  });

  it.each([
    { ids: [1, id('▁the'), id('▁cat'), 2], skipped: 'the cat', kept: '<s> the cat</s>' },
    {
      ids: [id('▁'), BYTE_BASE + 0xf0, BYTE_BASE + 0x9f, BYTE_BASE + 0x98, BYTE_BASE + 0x80],
      skipped: '😀',
      kept: '😀',
    },
    { ids: [id('▁a'), SEP_ID, id('▁c')], skipped: 'a<sep> c', kept: 'a<sep> c' },
    { ids: [], skipped: '', kept: '' },
  ])('decodes $ids', ({ ids, skipped, kept }) => {
    expect(tokenizer.decode(ids)).toBe(skipped);
    expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe(kept);
  });

  it('round-trips text through encode and decode', () => {
    for (const text of ['The cat sat.', "isn't it's 世界 😀 ✓", '  leading and  double spaces']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });

  it.each([
    { token: '<0x41>', bytes: [0x41] },
    { token: '<0xE7>', bytes: [0xe7] },
    { token: '▁cat', bytes: [0x20, 0x63, 0x61, 0x74] },
    { token: '▁▁', bytes: [0x20, 0x20] },
    { token: '世', bytes: [0xe4, 0xb8, 0x96] },
    { token: '<sep>', bytes: [...'<sep>'].map(c => c.charCodeAt(0)) },
  ])('tokenBytes($token)', ({ token, bytes }) => {
    expect([...(tokenizer.tokenBytes(token === '<sep>' ? SEP_ID : id(token)) ?? [])]).toEqual(
      bytes,
    );
  });

  it('has no bytes for special tokens', () => {
    expect(tokenizer.tokenBytes(0)).toBeUndefined();
    expect(tokenizer.tokenBytes(1)).toBeUndefined();
    expect(tokenizer.tokenBytes(2)).toBeUndefined();
  });

  it('follows add_bos_token / add_eos_token, else the post-processor', () => {
    const make = (config?: Record<string, unknown>) =>
      createTokenizer({ tokenizerJson: tinyLlamaTokenizerJson(), tokenizerConfig: config });
    expect(make(tinyLlamaTokenizerConfig({ add_bos_token: false })).encode('the')).toEqual([
      id('▁the'),
    ]);
    expect(make(tinyLlamaTokenizerConfig({ add_eos_token: true })).encode('the')).toEqual([
      1,
      id('▁the'),
      2,
    ]);
    const bare = make(undefined);
    expect(bare.encode('the')).toEqual([1, id('▁the')]);
    expect(bare.bosTokenId).toBeUndefined();
    expect(bare.eosTokenIds).toEqual([]);
  });

  it('takes eos ids from generation config and a bos override', () => {
    const custom = createTokenizer({
      tokenizerJson: tinyLlamaTokenizerJson(),
      tokenizerConfig: tinyLlamaTokenizerConfig(),
      eosTokenIds: [2, SEP_ID],
      bosTokenId: 0,
    });
    expect(custom.eosTokenIds).toEqual([2, SEP_ID]);
    expect(custom.bosTokenId).toBe(0);
    expect(
      createTokenizer({ tokenizerJson: tinyLlamaTokenizerJson(), eosTokenIds: 7 }).eosTokenIds,
    ).toEqual([7]);
    expect(
      InvalidArgumentError.isInstance(
        thrown(() =>
          createTokenizer({ tokenizerJson: tinyLlamaTokenizerJson(), eosTokenIds: [-1] }),
        ),
      ),
    ).toBe(true);
  });

  it('reports malformed files as ModelFormatError', () => {
    expect(
      ModelFormatError.isInstance(thrown(() => createTokenizer({ tokenizerJson: { model: {} } }))),
    ).toBe(true);
    const error = thrown(() =>
      createTokenizer({
        tokenizerJson: tinyLlamaTokenizerJson(),
        tokenizerConfig: { eos_token: '<nope>' },
      }),
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/<nope>/);
  });
});

describe('applyChatTemplate', () => {
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hi!' },
  ];

  it('uses the plain template when tokenizer_config has none', () => {
    const tokenizer = createTokenizer({
      tokenizerJson: tinyLlamaTokenizerJson(),
      tokenizerConfig: tinyLlamaTokenizerConfig(),
    });
    expect(tokenizer.applyChatTemplate(messages)).toBe(
      'System: You are terse.\nUser: Hi!\nAssistant:',
    );
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false })).toBe(
      'System: You are terse.\nUser: Hi!\n',
    );
  });

  const zephyr =
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n{% endfor %}" +
    '{% if add_generation_prompt %}<|assistant|>\n{% endif %}';

  it.each([
    { name: 'a string', chatTemplate: zephyr },
    {
      name: 'a named list',
      chatTemplate: [
        { name: 'tool_use', template: 'x' },
        { name: 'default', template: zephyr },
      ],
    },
  ])('renders the chat_template given as $name with Jinja', ({ chatTemplate }) => {
    const tokenizer = createTokenizer({
      tokenizerJson: tinyLlamaTokenizerJson(),
      tokenizerConfig: tinyLlamaTokenizerConfig({ chat_template: chatTemplate }),
    });
    expect(tokenizer.applyChatTemplate(messages)).toBe(
      '<s><|system|>\nYou are terse.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n',
    );
  });

  it('turns raise_exception into InvalidArgumentError', () => {
    const tokenizer = createTokenizer({
      tokenizerJson: tinyLlamaTokenizerJson(),
      tokenizerConfig: tinyLlamaTokenizerConfig({
        chat_template:
          "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}",
      }),
    });
    const error = thrown(() => tokenizer.applyChatTemplate(messages));
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/System role not supported/);
  });
});
