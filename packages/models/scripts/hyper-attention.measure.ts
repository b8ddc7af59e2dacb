import * as ort from 'onnxruntime-node';
import { it } from 'vitest';
import { type LlamaConfig, buildLlamaGraph } from '../src/index.js';
import { randomLlamaWeights } from '../src/tiny-model.js';

// The README's HyperAttention table: prefill of a random one-layer, one-head Llama with a 16k context (head
// size 64, the official benchmark's), exact attention against HyperAttention with the official defaults
// (minSeqLen 4096, blocks of 256, 256 sampled columns, 7 hyperplanes), at 4k–16k rows. One intra-op thread
// and no memory arena: CPU time then measures the work (spinning threads inflate it), and exact attention at
// 16k rows (a 1 GiB score matrix, several live at once) fits beside other jobs.
// `npx vitest run --config packages/eval/measure.config.ts packages/models/scripts/hyper-attention.measure.ts`
const LENGTHS = (process.env.HYPER_LENGTHS ?? '4096,8192,12288,16384').split(',').map(Number);
const RUNS = Number(process.env.HYPER_RUNS ?? 3);

const config: LlamaConfig = {
  vocabSize: 512,
  dim: 64,
  hiddenDim: 192,
  numLayers: 1,
  numHeads: 1,
  numKvHeads: 1,
  contextLength: 16384,
  tiedEmbeddings: true,
};

async function session(hyper: boolean) {
  const weights = randomLlamaWeights(config, 11);
  const graph = buildLlamaGraph(config, weights, {
    plain: true,
    hiddenStates: true,
    ...(hyper ? { hyperAttention: {} } : {}),
  });
  return ort.InferenceSession.create(graph, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    enableCpuMemArena: false,
  });
}

function feeds(rows: number): Record<string, ort.Tensor> {
  const ids = BigInt64Array.from({ length: rows }, (_, i) => BigInt((i * 7919 + 13) % 509));
  const result: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [1, rows]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(rows).fill(1n), [1, rows]),
    position_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)),
      [1, rows],
    ),
  };
  for (const kind of ['key', 'value'])
    result[`past_key_values.0.${kind}`] = new ort.Tensor(
      'float32',
      new Float32Array(0),
      [1, 1, 0, 64],
    );
  return result;
}

interface Timed {
  ms: number;
  cpuMs: number;
  hidden: Float32Array;
  logits: Float32Array;
}

async function once(s: ort.InferenceSession, rows: number, best?: Timed): Promise<Timed> {
  const input = feeds(rows);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const outputs = await s.run(input);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return {
    ms: Math.min(ms, best?.ms ?? Infinity),
    cpuMs: Math.min(cpuMs, best?.cpuMs ?? Infinity),
    hidden: outputs.hidden_states.data as Float32Array,
    logits: outputs.logits.data as Float32Array,
  };
}

function relativeError(exact: Float32Array, approximate: Float32Array): number {
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < exact.length; i++) {
    difference += (exact[i] - approximate[i]) ** 2;
    norm += exact[i] ** 2;
  }
  return Math.sqrt(difference / norm);
}

function argmaxAgreement(a: Float32Array, b: Float32Array, rows: number): number {
  const vocab = a.length / rows;
  let same = 0;
  for (let r = 0; r < rows; r++) {
    let ia = 0;
    let ib = 0;
    for (let c = 1; c < vocab; c++) {
      if (a[r * vocab + c] > a[r * vocab + ia]) ia = c;
      if (b[r * vocab + c] > b[r * vocab + ib]) ib = c;
    }
    if (ia === ib) same++;
  }
  return same / rows;
}

it('HyperAttention prefill: error and speed against exact attention', async () => {
  const exact = await session(false);
  const hyper = await session(true);
  console.log(`1 layer, 1 head of 64, best of ${RUNS} runs; wall ms and CPU ms (one thread)`);
  const lines = [
    '| rows | exact prefill ms (CPU ms) | HyperAttention ms (CPU ms) | speedup (CPU) | rel. error of hidden states | greedy rows unchanged |',
    '|---|---|---|---|---|---|',
  ];
  for (const rows of LENGTHS) {
    // Interleaved runs, so both see the same machine load; the best of each.
    let a: Timed | undefined;
    let b: Timed | undefined;
    for (let run = 0; run < RUNS; run++) {
      a = await once(exact, rows, a);
      b = await once(hyper, rows, b);
    }
    if (a === undefined || b === undefined) throw new Error('HYPER_RUNS must be at least 1');
    lines.push(
      `| ${rows} | ${a.ms.toFixed(0)} (${a.cpuMs.toFixed(0)}) | ${b.ms.toFixed(0)} (${b.cpuMs.toFixed(0)}) | ${(a.ms / b.ms).toFixed(2)}× (${(a.cpuMs / b.cpuMs).toFixed(2)}×) | ${relativeError(a.hidden, b.hidden).toExponential(2)} | ${(100 * argmaxAgreement(a.logits, b.logits, rows)).toFixed(1)}% |`,
    );
    console.log(lines.at(-1));
  }
  console.log(lines.join('\n'));
  await exact.release();
  await hyper.release();
});
