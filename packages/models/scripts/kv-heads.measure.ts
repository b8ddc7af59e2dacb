import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDecoder } from '@decodekit/core';
import { Tokenizer } from '@huggingface/tokenizers';
import { it } from 'vitest';
import {
  type LlamaConfig,
  type LlamaWeights,
  compressKvHeads,
  llama2cTokenizerConfig,
  llama2cTokenizerJson,
  readLlama2cCheckpoint,
  readLlama2cTokenizer,
  referencePerplexity,
  sampleReferenceSequences,
} from '../src/index.js';
import { convertLlama2cToFolder } from '../src/node.js';
import { MODELS_ROOT } from '../src/ort-test-utils.js';

// The README's KV-head compression table: stories260K 4 → 2 → 1 KV heads, SVD (ours) against mean-pooling
// the group's K/V projections (the GQA paper's conversion, the baseline the KV-heads paper compares to).
// `npx vitest run --config packages/models/measure.config.ts packages/models/scripts/kv-heads.measure.ts`
const STORIES = join(MODELS_ROOT, 'karpathy/tinyllamas/stories260K');

/** Mean-pooled K/V projections of each group of KV heads (Ainslie et al., 2023), Q and O untouched. */
function meanPooled(config: LlamaConfig, weights: LlamaWeights, kvHeads: number) {
  const headDim = config.dim / config.numHeads;
  const group = config.numKvHeads / kvHeads;
  const pool = (matrix: Float32Array) => {
    const out = new Float32Array(config.numLayers * kvHeads * headDim * config.dim);
    for (let layer = 0; layer < config.numLayers; layer++)
      for (let j = 0; j < kvHeads; j++)
        for (let m = 0; m < group; m++)
          for (let r = 0; r < headDim * config.dim; r++)
            out[(layer * kvHeads + j) * headDim * config.dim + r] +=
              matrix[(layer * config.numKvHeads + j * group + m) * headDim * config.dim + r] /
              group;
    return out;
  };
  return {
    config: { ...config, numKvHeads: kvHeads },
    weights: { ...weights, wk: pool(weights.wk), wv: pool(weights.wv) },
  };
}

it('kv-head compression table', async () => {
  const checkpoint = readLlama2cCheckpoint(
    new Uint8Array(readFileSync(join(STORIES, 'stories260K.bin'))),
  );
  const { config, weights } = checkpoint;
  const heldOut = sampleReferenceSequences(config, weights, {
    sequences: 16,
    length: 256,
    seed: 1,
  });
  const tokenizer = new Tokenizer(
    llama2cTokenizerJson(
      readLlama2cTokenizer(new Uint8Array(readFileSync(join(STORIES, 'tok512.bin')))),
    ),
    llama2cTokenizerConfig(config.contextLength),
  );
  const grounded = readFileSync(new URL('../../../bench/grounded.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map(line => tokenizer.encode(String(JSON.parse(line).prompt)).ids);
  const { loadModel } = await import('@decodekit/backend-onnx');
  const temp = mkdtempSync(join(tmpdir(), 'kv-heads-'));
  const rows: string[] = [];
  try {
    for (const kvHeads of [4, 2, 1]) {
      const variants =
        kvHeads === 4
          ? [{ method: 'dense', config, weights, energy: '1.000 / 1.000', ms: 0 }]
          : [
              (() => {
                const started = performance.now();
                const result = compressKvHeads(config, weights, { kvHeads });
                const mean = (key: 'keyEnergy' | 'valueEnergy') =>
                  (
                    result.report.layers.reduce((sum, layer) => sum + layer[key], 0) /
                    result.report.layers.length
                  ).toFixed(3);
                return {
                  method: 'SVD (ours)',
                  ...result,
                  energy: `${mean('keyEnergy')} / ${mean('valueEnergy')}`,
                  ms: performance.now() - started,
                };
              })(),
              { method: 'mean-pool', ...meanPooled(config, weights, kvHeads), energy: '–', ms: 0 },
            ];
      for (const variant of variants) {
        const ppl = referencePerplexity(variant.config, variant.weights, heldOut);
        const pplGrounded = referencePerplexity(variant.config, variant.weights, grounded);
        const kvBytes = 2 * config.numLayers * kvHeads * (config.dim / config.numHeads) * 4;
        let tokensPerSecond = '–';
        if (variant.method !== 'mean-pool') {
          const folder = join(temp, `kv${kvHeads}`);
          await convertLlama2cToFolder(
            join(STORIES, 'stories260K.bin'),
            join(STORIES, 'tok512.bin'),
            folder,
            { kvHeads },
          );
          const model = await loadModel(folder);
          const decoder = createDecoder({ model });
          let best = 0;
          for (let run = 0; run < 3; run++) {
            const started = performance.now();
            const result = await decoder.generate('Once upon a time', {
              maxTokens: 256,
              temperature: 0,
              ignoreEos: true,
            });
            best = Math.max(best, result.tokens.length / ((performance.now() - started) / 1000));
          }
          tokensPerSecond = best.toFixed(0);
          await model.dispose();
        }
        rows.push(
          `| ${kvHeads} | ${variant.method} | ${ppl.toFixed(3)} | ${pplGrounded.toFixed(3)} | ${kvBytes} | ${variant.energy} | ${tokensPerSecond} | ${variant.ms ? (variant.ms / 1000).toFixed(1) : '–'} |`,
        );
      }
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  console.log(
    [
      '| KV heads | method | ppl held-out (16×256 sampled, seed 1) | ppl bench/grounded.jsonl | KV bytes / token | kept energy K / V | AR greedy tok/s (CPU) | convert s |',
      '|---:|---|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
});
