// "Return of the Encoder" next to a decoder-only model of about the same size, both random-weight and built by
// our builders with the tok512 vocabulary: an encoder-decoder with a 2/3–1/3 layer split (4 encoder + 2 decoder
// layers, d_model 256) against a 6-layer Llama (dim 256), the same 256-token source / prompt, 64 greedy tokens.
// Time to first token (the encoder pass or the prompt prefill, plus the first step), then decode tokens/s, in
// wall and CPU time (one intra-op thread each), best of RUNS interleaved runs. Not a test (never in CI):
//   npx vitest run --config packages/eval/measure.config.ts packages/backend-onnx/scripts/seq2seq.measure.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { buildRandomLlama, buildSeq2SeqModel } from '@decodekit/models';
import { writeModelFolder } from '@decodekit/models/node';
import { it } from 'vitest';
import { createCpuBackend, loadModel, seq2seqCounters } from '../src/index';

// eslint-disable-next-line no-process-env -- script: the offline mirror holds tok512 and the bench texts
const mirror = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
// eslint-disable-next-line no-process-env -- script knob
const RUNS = Number(process.env.SEQ2SEQ_RUNS ?? 3);
const SOURCE_TOKENS = 256;
const NEW_TOKENS = 64;

/** Float32 values in a nested weights object (the seq2seq builder's). */
function countWeights(value: unknown): number {
  if (value instanceof Float32Array) return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countWeights(item), 0);
  if (typeof value === 'object' && value !== null)
    return Object.values(value).reduce((sum: number, item) => sum + countWeights(item), 0);
  return 0;
}

/** A tied-embedding Llama's parameters (as many KV heads as heads). */
function llamaParameters(vocab: number, dim: number, layers: number, hidden: number): number {
  return vocab * dim + layers * (4 * dim * dim + 3 * dim * hidden + 2 * dim) + dim;
}

const millions = (count: number) => `${(count / 1e6).toFixed(2)}M`;

interface Timing {
  ttftMs: number;
  ttftCpuMs: number;
  decodeTokS: number;
  decodeCpuTokS: number;
  encoderCalls: number;
}

async function timeOnce(model: LoadedModel, prompt: number[]): Promise<Timing> {
  const decoder = createDecoder({ model });
  const cpu = process.cpuUsage();
  const start = performance.now();
  let first = 0;
  let firstCpu = 0;
  let tokens = 0;
  let encoderCalls = 0;
  for await (const event of decoder.stream(
    { tokens: prompt },
    { maxTokens: NEW_TOKENS, ignoreEos: true },
  )) {
    if (event.type === 'token') {
      tokens++;
      if (tokens === 1) {
        first = performance.now() - start;
        const used = process.cpuUsage(cpu);
        firstCpu = (used.user + used.system) / 1000;
      }
    }
    if (event.type === 'done') encoderCalls = event.stats.encoderCalls ?? 0;
  }
  const total = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const totalCpu = (used.user + used.system) / 1000;
  return {
    ttftMs: first,
    ttftCpuMs: firstCpu,
    decodeTokS: ((tokens - 1) * 1000) / (total - first),
    decodeCpuTokS: ((tokens - 1) * 1000) / (totalCpu - firstCpu),
    encoderCalls,
  };
}

function best(a: Timing | undefined, b: Timing): Timing {
  if (a === undefined) return b;
  return {
    ttftMs: Math.min(a.ttftMs, b.ttftMs),
    ttftCpuMs: Math.min(a.ttftCpuMs, b.ttftCpuMs),
    decodeTokS: Math.max(a.decodeTokS, b.decodeTokS),
    decodeCpuTokS: Math.max(a.decodeCpuTokS, b.decodeCpuTokS),
    encoderCalls: b.encoderCalls,
  };
}

it('encoder-decoder vs decoder-only: time to first token and decode speed', async () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-seq2seq-measure-'));
  const tokenizer = new Uint8Array(
    readFileSync(join(mirror, 'karpathy/tinyllamas/stories260K/tok512.bin')),
  );
  const built = buildSeq2SeqModel({
    seed: 1,
    tokenizer,
    dim: 256,
    heads: 4,
    ffnDim: 1024,
    encoderLayers: 4,
    decoderLayers: 2,
    maxPositions: 1024,
  });
  const seq2seqFolder = await writeModelFolder(join(work, 'seq2seq'), built.files);
  const llamaFolder = await writeModelFolder(
    join(work, 'llama'),
    buildRandomLlama({
      seed: 1,
      tokenizer,
      dim: 256,
      numLayers: 6,
      numHeads: 4,
      hiddenDim: 672,
      contextLength: 1024,
    }).files,
  );
  const seq2seq = await loadModel(seq2seqFolder, { backend: createCpuBackend() });
  const llama = await loadModel(llamaFolder, { backend: createCpuBackend() });
  const story = readFileSync(join(mirror, '..', 'bench', 'grounded.jsonl'), 'utf8');
  const source = seq2seq.tokenizer.encode(story).slice(0, SOURCE_TOKENS);
  let a: Timing | undefined;
  let b: Timing | undefined;
  for (let run = 0; run < RUNS; run++) {
    a = best(a, await timeOnce(seq2seq, source));
    b = best(b, await timeOnce(llama, source));
  }
  if (a === undefined || b === undefined) throw new Error('SEQ2SEQ_RUNS must be at least 1');
  const row = (name: string, count: number, t: Timing) =>
    `| ${name} | ${millions(count)} | ${t.ttftMs.toFixed(1)} (${t.ttftCpuMs.toFixed(1)}) | ${t.decodeTokS.toFixed(0)} (${t.decodeCpuTokS.toFixed(0)}) | ${t.encoderCalls} |`;
  console.log(
    [
      `source ${source.length} tokens, ${NEW_TOKENS} greedy tokens, best of ${RUNS}; encoder runs ${seq2seqCounters(seq2seq).encoderRuns}, cross-attention runs ${seq2seqCounters(seq2seq).crossAttentionRuns}`,
      '| model | parameters | time to first token ms (CPU ms) | decode tok/s (per CPU s) | encoder calls / request |',
      '|---|---:|---:|---:|---:|',
      row('encoder-decoder 4+2 layers', countWeights(built.weights), a),
      row('decoder-only 6 layers', llamaParameters(512, 256, 6, 672), b),
    ].join('\n'),
  );
  await seq2seq.dispose();
  await llama.dispose();
  rmSync(work, { recursive: true, force: true });
});
