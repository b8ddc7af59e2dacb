import { ModelFormatError } from '@decodekit/core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTinyMlm, referenceLogits, type TinyMlm } from './__fixtures__/tiny-mlm.js';
import { mlmSplade, onnxMlmRunner } from './mlm-splade.js';
import { spladeMaxPool } from './splade-pooling.js';

describe('mlmSplade over a BERT-style ONNX MLM export', () => {
  let mlm: TinyMlm;
  let session: ort.InferenceSession;
  beforeAll(async () => {
    mlm = buildTinyMlm();
    session = await ort.InferenceSession.create(mlm.bytes);
  });

  it('runs input_ids/attention_mask → logits [1, n, vocab] as the reference computes them', async () => {
    const runner = onnxMlmRunner({ session, Tensor: ort.Tensor });
    const ids = mlm.tokenizer.encode('the cat sat on the mat');
    const mask = ids.map(() => 1);
    const logits = await runner({
      inputIds: BigInt64Array.from(ids, BigInt),
      attentionMask: BigInt64Array.from(mask, BigInt),
    });
    const expected = referenceLogits(mlm, ids, mask);
    expect(logits.length).toBe(ids.length * mlm.vocab.length);
    logits.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 5));
  });

  it('pads are zeroed by the graph and dropped by the pooling mask', async () => {
    const runner = onnxMlmRunner({ session, Tensor: ort.Tensor });
    const ids = [1, 5, 7, 2, 0, 0];
    const mask = [1, 1, 1, 1, 0, 0];
    const logits = await runner({
      inputIds: BigInt64Array.from(ids, BigInt),
      attentionMask: BigInt64Array.from(mask, BigInt),
    });
    const pooled = spladeMaxPool(logits, mlm.vocab.length, { mask });
    const unpadded = spladeMaxPool(
      referenceLogits(mlm, ids.slice(0, 4), mask.slice(0, 4)),
      mlm.vocab.length,
    );
    pooled.forEach((value, i) => expect(value).toBeCloseTo(unpadded[i], 5));
  });

  it('encodes a text into the pruned max-pooled log(1 + relu) vector', async () => {
    const encoder = mlmSplade({
      runner: onnxMlmRunner({ session, Tensor: ort.Tensor }),
      tokenizer: mlm.tokenizer,
      vocabSize: mlm.vocab.length,
      topK: 5,
    });
    const ids = mlm.tokenizer.encode('the big red ball');
    const dense = spladeMaxPool(
      referenceLogits(
        mlm,
        ids,
        ids.map(() => 1),
      ),
      mlm.vocab.length,
    );
    const vector = await encoder.encode('the big red ball');
    expect(vector.terms.length).toBe(5);
    const expectedTerms = Array.from(dense.keys())
      .filter(term => dense[term] > 0)
      .sort((a, b) => dense[b] - dense[a])
      .slice(0, 5)
      .sort((a, b) => a - b);
    expect(Array.from(vector.terms)).toEqual(expectedTerms);
    vector.terms.forEach((term, i) => expect(vector.weights[i]).toBeCloseTo(dense[term], 5));
  });

  it('names the missing input or output of a wrong export', () => {
    const broken = { inputNames: ['ids'], outputNames: ['logits'], run: session.run.bind(session) };
    expect(() => onnxMlmRunner({ session: broken, Tensor: ort.Tensor })).toThrow(ModelFormatError);
    expect(() =>
      onnxMlmRunner({ session, Tensor: ort.Tensor, logitsName: 'last_hidden_state' }),
    ).toThrow(/last_hidden_state/);
  });
});
