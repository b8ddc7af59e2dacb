import onnxProto from 'onnx-proto';
import type { Tokenizer } from '@decodekit/core';

const { onnx } = onnxProto;

/** A seeded tiny BERT-style MLM: embeddings → mask → one MatMul → logits [1, n, vocab]. */
export interface TinyMlm {
  readonly bytes: Uint8Array;
  readonly vocab: readonly string[];
  readonly hidden: number;
  readonly embeddings: Float32Array; // [vocab, hidden]
  readonly head: Float32Array; // [hidden, vocab]
  readonly tokenizer: Tokenizer;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const raw = (array: Float32Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** Builds the graph with onnx-proto: Gather(E, input_ids) · Cast(mask) → MatMul(W) → `logits`. */
export function buildTinyMlm({ seed = 7, hidden = 8 }: { seed?: number; hidden?: number } = {}): TinyMlm {
  const vocab = ['[PAD]', '[CLS]', '[SEP]', '[UNK]', 'the', 'cat', 'dog', 'sat', 'ran', 'on', 'mat', 'park', 'big', 'red', 'ball', 'tree'];
  const random = mulberry32(seed);
  const embeddings = Float32Array.from({ length: vocab.length * hidden }, () => random() * 2 - 1);
  const head = Float32Array.from({ length: hidden * vocab.length }, () => random() * 2 - 1);
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const dims = (...values: (number | string)[]) => ({
    dim: values.map(value => (typeof value === 'number' ? { dimValue: value } : { dimParam: value })),
  });
  const graph = onnx.GraphProto.create({
    name: 'tiny-mlm',
    input: [
      { name: 'input_ids', type: { tensorType: { elemType: I64, shape: dims('batch', 'sequence') } } },
      { name: 'attention_mask', type: { tensorType: { elemType: I64, shape: dims('batch', 'sequence') } } },
    ],
    output: [{ name: 'logits', type: { tensorType: { elemType: F, shape: dims('batch', 'sequence', vocab.length) } } }],
    initializer: [
      { name: 'embeddings', dims: [vocab.length, hidden], dataType: F, rawData: raw(embeddings) },
      { name: 'head', dims: [hidden, vocab.length], dataType: F, rawData: raw(head) },
      { name: 'last_axis', dims: [1], dataType: I64, rawData: new Uint8Array(new BigInt64Array([-1n]).buffer) },
    ],
    node: [
      { opType: 'Gather', input: ['embeddings', 'input_ids'], output: ['embedded'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'Cast', input: ['attention_mask'], output: ['mask_f'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F }] },
      { opType: 'Unsqueeze', input: ['mask_f', 'last_axis'], output: ['mask_3d'] },
      { opType: 'Mul', input: ['embedded', 'mask_3d'], output: ['masked'] },
      { opType: 'MatMul', input: ['masked', 'head'], output: ['logits'] },
    ],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'decodekit-test', graph });
  const bytes = onnx.ModelProto.encode(model).finish();
  const ids = new Map(vocab.map((word, id) => [word, id]));
  const tokenizer: Tokenizer = {
    vocabSize: vocab.length,
    eosTokenIds: [2],
    encode: (text, { addSpecialTokens = true } = {}) => {
      const words = (text.toLowerCase().match(/[a-z]+/g) ?? []).map(word => ids.get(word) ?? 3);
      return addSpecialTokens ? [1, ...words, 2] : words;
    },
    decode: tokens => tokens.map(id => vocab[id]).join(' '),
    idToToken: id => vocab[id],
    tokenBytes: id => new TextEncoder().encode(vocab[id]),
    applyChatTemplate: () => {
      throw new Error('not a chat model');
    },
  };
  return { bytes, vocab, hidden, embeddings, head, tokenizer };
}

/** The logits the graph must produce, computed in plain TypeScript. [ids.length, vocab] */
export function referenceLogits(mlm: TinyMlm, ids: readonly number[], mask: readonly number[]): Float32Array {
  const vocabSize = mlm.vocab.length;
  const logits = new Float32Array(ids.length * vocabSize);
  ids.forEach((id, row) => {
    for (let term = 0; term < vocabSize; term++) {
      let sum = 0;
      for (let h = 0; h < mlm.hidden; h++) sum += mlm.embeddings[id * mlm.hidden + h] * mask[row] * mlm.head[h * vocabSize + term];
      logits[row * vocabSize + term] = sum;
    }
  });
  return logits;
}
