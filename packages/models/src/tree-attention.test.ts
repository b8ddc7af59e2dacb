import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { buildTinyGpt2 } from './gpt2-graph.js';
import { buildLlamaGraph } from './graph-builder.js';
import { ElemType, createGraphWriter, decodeModel, encodeModel } from './onnx-writer.js';
import { MODELS_ROOT } from './ort-test-utils.js';
import { buildTinyModel, randomLlamaWeights } from './tiny-model.js';
import { addTreeAttention } from './tree-attention.js';
import type { LlamaConfig } from './llama-config.js';

const config: LlamaConfig = {
  vocabSize: 32,
  dim: 16,
  hiddenDim: 32,
  numLayers: 3,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 64,
  tiedEmbeddings: true,
};
const weights = randomLlamaWeights(config, 7);

function nodesOf(onnx: Uint8Array) {
  return decodeModel(onnx).graph?.node ?? [];
}

function biasInput(onnx: Uint8Array) {
  const input = decodeModel(onnx).graph?.input?.find(value => value.name === 'attention_bias');
  return {
    elemType: input?.type?.tensorType?.elemType,
    dims: input?.type?.tensorType?.shape?.dim?.map(dim => dim.dimParam || Number(dim.dimValue)),
  };
}

function readsAttentionMask(onnx: Uint8Array): boolean {
  return nodesOf(onnx).some(node => (node.input ?? []).includes('attention_mask'));
}

describe('addTreeAttention', () => {
  it('replaces the causal mask of every layer of a decomposed (--plain) graph and drops its construction', () => {
    const plain = buildLlamaGraph(config, weights, { plain: true });
    expect(readsAttentionMask(plain)).toBe(true);
    const { onnx, report } = addTreeAttention(plain);
    expect(report).toMatchObject({
      softmaxMasks: 3,
      multiHeadAttention: 0,
      groupQueryAttention: 0,
      bypassedWheres: 0,
    });
    expect(report.removedNodes).toBeGreaterThan(5);
    expect(biasInput(onnx)).toEqual({
      elemType: ElemType.float,
      dims: [1, 1, 'sequence_length', 'total_sequence_length'],
    });
    expect(readsAttentionMask(onnx)).toBe(false);
    const softmaxInputs = nodesOf(onnx)
      .filter(node => node.opType === 'Softmax')
      .map(node => nodesOf(onnx).find(other => other.output?.includes(node.input?.[0] ?? '')));
    for (const add of softmaxInputs) expect(add?.input).toContain('attention_bias');
    const metadata = decodeModel(onnx).metadataProps ?? [];
    expect(metadata).toContainEqual(
      expect.objectContaining({ key: 'decodekit.tree_attention', value: 'attention_bias' }),
    );
  });

  it('gives GroupQueryAttention the bias as input 10 and keeps its lengths from attention_mask', () => {
    const gqa = buildLlamaGraph(config, weights, { plain: true, attention: 'group-query' });
    const { onnx, report } = addTreeAttention(gqa);
    expect(report.groupQueryAttention).toBe(3);
    const nodes = nodesOf(onnx).filter(node => node.opType === 'GroupQueryAttention');
    expect(nodes).toHaveLength(3);
    for (const node of nodes) expect(node.input?.[10]).toBe('attention_bias');
    // seqlens_k and total_sequence_length still come from attention_mask.
    expect(readsAttentionMask(onnx)).toBe(true);
  });

  it('wires position_ids into a GroupQueryAttention that rotates Q and K itself (do_rotary)', () => {
    const wide: LlamaConfig = { ...config, dim: 64, numHeads: 4, numKvHeads: 2 };
    const rotary = buildLlamaGraph(wide, randomLlamaWeights(wide, 3), {
      plain: true,
      attention: 'group-query',
      groupQueryRotary: true,
    });
    const before = nodesOf(rotary).filter(node => node.opType === 'GroupQueryAttention');
    expect(before[0]?.input?.slice(7)).toEqual(['rope_cos', 'rope_sin']);
    const { onnx } = addTreeAttention(rotary);
    for (const node of nodesOf(onnx).filter(other => other.opType === 'GroupQueryAttention')) {
      expect(node.input?.[9]).toBe('position_ids');
      expect(node.input?.[10]).toBe('attention_bias');
    }
    // The operator's fused rotary needs head sizes that are multiples of 16 (this config's is 8).
    expect(() =>
      buildLlamaGraph(config, weights, {
        plain: true,
        attention: 'group-query',
        groupQueryRotary: true,
      }),
    ).toThrow(InvalidArgumentError);
  });

  it("bypasses GPT-2's Where(causal, scores, lowest) and replaces the padding mask", () => {
    const gpt2 = buildTinyGpt2({ seed: 1 }).files['onnx/model.onnx'] as Uint8Array;
    const { onnx, report } = addTreeAttention(gpt2);
    expect(report).toMatchObject({ softmaxMasks: 2, bypassedWheres: 2 });
    expect(nodesOf(onnx).some(node => node.opType === 'Where')).toBe(false);
    expect(readsAttentionMask(onnx)).toBe(false);
  });

  it('feeds a float16 MultiHeadAttention bias clamped to -65504 (the onnxruntime-genai fixture)', () => {
    const graph = new Uint8Array(
      readFileSync(
        join(
          MODELS_ROOT,
          '..',
          'fixtures',
          'hf-exports',
          'onnxruntime-genai-tiny-random-llama-fp16',
          'model.onnx',
        ),
      ),
    );
    const { onnx, report } = addTreeAttention(graph);
    expect(report.multiHeadAttention).toBe(2);
    const nodes = nodesOf(onnx);
    const cast = nodes.find(
      node => node.opType === 'Cast' && node.input?.[0]?.includes('tree_bias'),
    );
    expect(cast?.attribute?.[0]?.name).toBe('to');
    expect(Number(cast?.attribute?.[0]?.i)).toBe(ElemType.float16);
    for (const node of nodes.filter(other => other.opType === 'MultiHeadAttention')) {
      expect(node.input?.[4]).toBe('');
      expect(node.input?.[5]).toBe(cast?.output?.[0]);
    }
    // The old mask (attn_mask_reformat) is gone; external data references are kept.
    expect(nodes.some(node => node.name?.includes('attn_mask_reformat'))).toBe(false);
    const external = decodeModel(onnx).graph?.initializer?.filter(
      tensor => tensor.externalData && tensor.externalData.length > 0,
    );
    expect(external?.length).toBeGreaterThan(0);
  });

  it.each([
    {
      what: 'a graph without position_ids',
      onnx: () => buildLlamaGraph(config, weights, { plain: true, positionIds: false }),
      message: 'has no position_ids input',
    },
    {
      what: 'a graph that already has attention_bias',
      onnx: () => buildTinyModel({ seed: 1 }).files['onnx/model.onnx'] as Uint8Array,
      message: 'already has an attention_bias input',
    },
    {
      what: 'a graph without attention',
      onnx: () => {
        const g = createGraphWriter();
        g.input('input_ids', ElemType.int64, [1, 'n']);
        g.input('position_ids', ElemType.int64, [1, 'n']);
        g.op1('Identity', ['input_ids'], {}, 'logits');
        g.output('logits', ElemType.int64, [1, 'n']);
        return encodeModel(g.toGraph('empty'));
      },
      message: 'found no attention mask to replace',
    },
  ])('refuses $what with a ModelFormatError', ({ onnx, message }) => {
    let caught: unknown;
    try {
      addTreeAttention(onnx(), { path: 'onnx/model.onnx' });
    } catch (error) {
      caught = error;
    }
    expect(ModelFormatError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toContain(`onnx/model.onnx: ${message}`);
  });
});
