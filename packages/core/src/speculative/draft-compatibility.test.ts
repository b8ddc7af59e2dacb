import { describe, expect, it } from 'vitest';
import { ContextLengthError, VocabMismatchError } from '../errors.js';
import type { ModelInfo, Tokenizer } from '../types.js';
import { mockModel } from '../testing/mock-model.js';
import { checkDraftCompatibility, type CompatibilityCheckedModel } from './draft-compatibility.js';
import { DraftSession } from './draft-session.js';

const INFO: ModelInfo = {
  name: 'target',
  vocabSize: 4,
  contextLength: 512,
  bosTokenId: 1,
  eosTokenIds: [1, 2],
  numLayers: 2,
  hiddenSize: 8,
};

/** A 4-token tokenizer whose pieces are `pieces` (only what the check reads is real). */
function tokenizer(pieces: readonly string[]): Tokenizer {
  return {
    vocabSize: pieces.length,
    bosTokenId: 1,
    eosTokenIds: [1, 2],
    encode: () => [],
    decode: () => '',
    idToToken: id => pieces[id],
    tokenBytes: id => (id < 3 ? undefined : new TextEncoder().encode(pieces[id])),
    applyChatTemplate: () => '',
  };
}

const PIECES = ['<unk>', '<s>', '</s>', ' a'];

function model(
  info: Partial<ModelInfo> = {},
  extra: Partial<CompatibilityCheckedModel> = {},
): CompatibilityCheckedModel {
  return { info: { ...INFO, ...info }, tokenizer: tokenizer(PIECES), ...extra };
}

function failureOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('checkDraftCompatibility', () => {
  it('accepts a draft with the same tokenizer, comparing every token id', () => {
    expect(checkDraftCompatibility(model(), model({ name: 'draft' }))).toEqual({
      comparedTokens: 4,
      warnings: [],
    });
  });

  it.each([
    {
      change: 'the vocabulary size',
      draft: model({ vocabSize: 5 }),
      message: /vocabulary of 5 tokens but the target has 4/,
    },
    {
      change: 'BOS',
      draft: model({ bosTokenId: 0 }),
      message: /BOS is 0 in the draft, 1 in the target/,
    },
    {
      change: 'the EOS set',
      draft: model({ eosTokenIds: [2] }),
      message: /end-of-sequence ids are \[2\] in the draft, \[1, 2\] in the target/,
    },
    {
      change: 'PAD',
      draft: model({}, { generationConfig: { pad_token_id: 0 } }),
      target: model({}, { generationConfig: { pad_token_id: 2 } }),
      message: /PAD is 0 in the draft, 2 in the target/,
    },
    {
      change: 'a token piece',
      draft: model({}, { tokenizer: tokenizer(['<unk>', '<s>', '</s>', ' b']) }),
      message: /token id 3 is " b" in the draft but " a" in the target/,
    },
  ])(
    'refuses a draft that differs in $change with VocabMismatchError',
    ({ draft, target, message }) => {
      const failure = failureOf(() => checkDraftCompatibility(target ?? model(), draft));
      expect(VocabMismatchError.isInstance(failure)).toBe(true);
      expect(failure.message).toMatch(message);
      expect(failure.message).toMatch(/decodekit train fastdraft/); // says what to do
    },
  );

  it('EOS order does not matter, and PAD is compared only when both models name one', () => {
    const draft = model({ eosTokenIds: [2, 1] }, { generationConfig: { pad_token_id: 0 } });
    expect(checkDraftCompatibility(model(), draft).warnings).toEqual([]);
  });

  it('a shorter draft context is a warning, and an error when the run needs more positions', () => {
    const draft = model({ name: 'short', contextLength: 256 });
    const { warnings } = checkDraftCompatibility(model(), draft);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"short" has a context of 256 positions, the target 512/);
    expect(checkDraftCompatibility(model(), draft, { requiredContext: 256 }).warnings).toHaveLength(
      1,
    );
    const failure = failureOf(() =>
      checkDraftCompatibility(model(), draft, { requiredContext: 300 }),
    );
    expect(ContextLengthError.isInstance(failure)).toBe(true);
    expect(failure.message).toMatch(/needs 300 positions but the model's context is 256/);
  });

  it('without tokenizers only the sizes and special ids are compared', () => {
    const bare = (name: string): CompatibilityCheckedModel => ({ info: { ...INFO, name } });
    expect(checkDraftCompatibility(bare('t'), bare('d')).comparedTokens).toBe(0);
  });
});

describe('checkDraftCompatibility options', () => {
  it("specialTokens: 'warn' turns BOS/EOS/PAD differences into warnings; token ids still throw", () => {
    const draft = model({ name: 'draft', bosTokenId: 0, eosTokenIds: [2] });
    const { warnings } = checkDraftCompatibility(model(), draft, { specialTokens: 'warn' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/BOS is 0 in the draft, 1 in the target.*stays exact/);
    const other = model({}, { tokenizer: tokenizer(['<unk>', '<s>', '</s>', ' b']) });
    expect(() => checkDraftCompatibility(model(), other, { specialTokens: 'warn' })).toThrow(
      VocabMismatchError,
    );
  });

  it('checkContext: false skips the context comparison', () => {
    const draft = model({ contextLength: 16 });
    expect(
      checkDraftCompatibility(model(), draft, { checkContext: false, requiredContext: 300 })
        .warnings,
    ).toEqual([]);
  });
});

describe('DraftSession uses the check', () => {
  it('warns through begin’s warn channel when special tokens differ, and throws on another vocabulary', () => {
    const logits = () => new Float32Array(4);
    const target = mockModel({ vocabSize: 4, logits, eosTokenIds: [2], name: 'target' });
    const draft = mockModel({ vocabSize: 4, logits, eosTokenIds: [1], name: 'draft' });
    const warned: [string, string][] = [];
    const session = new DraftSession(draft, { temperature: 0 });
    session.begin({ model: target, warn: (code, message) => warned.push([code, message]) });
    session.end();
    expect(warned).toHaveLength(1);
    expect(warned[0][0]).toBe('draft-compatibility');
    expect(warned[0][1]).toMatch(/end-of-sequence ids are \[1\] in the draft, \[2\] in the target/);
    const wide = mockModel({ vocabSize: 5, logits: () => new Float32Array(5), name: 'wide' });
    expect(() => session.begin({ model: wide })).toThrow(VocabMismatchError);
  });
});
