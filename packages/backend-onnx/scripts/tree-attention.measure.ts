// Tree attention through the graph rewrite (`decodekit convert --tree-attention`) against batched path
// verification (every root-to-leaf path of the draft tree as one batch row over a copied prefix) and against
// chain-only verification (what a standard export gets without either), for token-recycling's 80-node tree.
// Not a test (never in CI); it runs under vitest, whose aliases resolve the workspace packages from source
// (token-recycling and @decodekit/models' onnx-writer are not imports this package's build may use). It prints
// two tables:
//   npx vitest run --config packages/backend-onnx/measure.config.ts packages/backend-onnx/scripts/tree-attention.measure.ts
// 1. Cost of one verification forward at a 128-token prefix, run straight on ONNX Runtime: the tree in one
//    forward (81 rows, attention_bias), the paths as a batch (leaves × 7 rows, prefix KV copied per row), the
//    best path only (7 rows), one row (autoregressive step).
// 2. token-recycling end to end (greedy, bench prompts) on standard exports as they are (chains only) and
//    rewritten (trees), tokens/s and mean accepted tokens per target forward.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createDecoder, speculative, type LoadedModel } from '@decodekit/core';
import { addTreeAttention, buildRandomLlama, convertLlama2c } from '@decodekit/models';
import { addTreeAttentionToFolder, writeModelFolder } from '@decodekit/models/node';
import { decodeModel, encodeModel } from '@decodekit/models/onnx-writer';
import { TREE_TEMPLATE_2_2_2, tokenRecycling } from '@decodekit/strategy-token-recycling';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { loadModel } from '../src/index';

// eslint-disable-next-line no-process-env -- script: the offline mirror sits beside the bench texts
const mirror = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const work = mkdtempSync(join(tmpdir(), 'decodekit-tree-measure-'));
const PAST = 128;
const RUNS = 15;

/** Parents (row indices, -1 = the root row) of token-recycling's tree with its root token as row 0. */
function treeRows(): { parents: number[]; depths: number[] } {
  const index = new Map<string, number>([['', 0]]);
  const parents = [-1];
  const depths = [0];
  for (const path of TREE_TEMPLATE_2_2_2) {
    index.set(path.join(','), parents.length);
    parents.push(index.get(path.slice(0, -1).join(',')) ?? 0);
    depths.push(path.length);
  }
  return { parents, depths };
}

/** The graph with a symbolic batch axis on every input and output but attention_bias. */
function withBatchAxis(onnx: Uint8Array): Uint8Array {
  const model = decodeModel(onnx);
  const values = [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])];
  for (const value of values) {
    const dims = value.type?.tensorType?.shape?.dim;
    if (value.name === 'attention_bias' || !dims || dims.length === 0) continue;
    dims[0] = { dimParam: 'batch' };
  }
  if (!model.graph) throw new Error('no graph');
  return encodeModel(model.graph);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Graph {
  readonly label: string;
  readonly session: ort.InferenceSession;
  readonly vocab: number;
}

async function verificationCosts({ label, session, vocab }: Graph) {
  const pastNames = session.inputNames.filter(name => name.startsWith('past_key_values.'));
  const meta = session.inputMetadata.find(entry => entry.name === pastNames[0]);
  if (!meta?.isTensor) throw new Error('no past input');
  const [heads, headDim] = [Number(meta.shape[1]), Number(meta.shape[3])];
  const half = meta.type === 'float16';
  const tensor = (data: Uint16Array | Float32Array, dims: number[]) =>
    new ort.Tensor(half ? 'float16' : 'float32', data, dims);
  const empty = () => (half ? new Uint16Array(0) : new Float32Array(0));
  const tokens = (count: number, batch = 1) =>
    new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: count * batch }, (_, i) => BigInt(3 + ((i * 7) % (vocab - 3)))),
      [batch, count],
    );
  const feedsFor = (
    batch: number,
    rows: number,
    past: Record<string, ort.Tensor>,
    pastLength: number,
    bias: Float32Array,
    positions: number[],
  ) => {
    const total = pastLength + rows;
    return {
      input_ids: tokens(rows, batch),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * total).fill(1n), [
        batch,
        total,
      ]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: batch * rows }, (_, i) =>
          BigInt(pastLength + positions[i % rows]),
        ),
        [batch, rows],
      ),
      attention_bias: new ort.Tensor('float32', bias, [1, 1, rows, total]),
      ...past,
    };
  };
  const chainBias = (rows: number, pastLength: number) => {
    const total = pastLength + rows;
    const bias = new Float32Array(rows * total);
    for (let r = 0; r < rows; r++) bias.fill(-1e9, r * total + pastLength + r + 1, (r + 1) * total);
    return bias;
  };
  const fetch = (outputs: ort.InferenceSession.OnnxValueMapType) =>
    Object.fromEntries(
      pastNames.map(name => [
        name,
        outputs[name.replace('past_key_values.', 'present.')] as ort.Tensor,
      ]),
    );
  const input = session.inputNames;
  const emptyPast = Object.fromEntries(
    pastNames.map(name => [name, tensor(empty(), [1, heads, 0, headDim])]),
  );
  const prefill = await session.run(
    pick(feedsFor(1, PAST, emptyPast, 0, chainBias(PAST, 0), range(PAST)), input),
  );
  const past = fetch(prefill);

  const { parents, depths } = treeRows();
  const rows = parents.length;
  const total = PAST + rows;
  const treeBias = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    treeBias.fill(-1e9, r * total + PAST, (r + 1) * total);
    for (let node = r; node >= 0; node = parents[node]) treeBias[r * total + PAST + node] = 0;
  }
  const leaves = range(rows).filter(r => !parents.includes(r));
  const depth = Math.max(...depths) + 1;
  const timeIt = async (run: () => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) await run();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    return median(times);
  };
  const one = await timeIt(() =>
    session.run(pick(feedsFor(1, 1, past, PAST, new Float32Array(PAST + 1), [0]), input)),
  );
  const chain = await timeIt(() =>
    session.run(pick(feedsFor(1, depth, past, PAST, chainBias(depth, PAST), range(depth)), input)),
  );
  const tree = await timeIt(() =>
    session.run(pick(feedsFor(1, rows, past, PAST, treeBias, depths), input)),
  );
  // Batched paths: the prefix KV repeated per path (the copy is part of the cost), each path padded to the
  // deepest one, one chain mask for every row of the batch.
  const batch = leaves.length;
  const batched = await timeIt(async () => {
    const expanded: Record<string, ort.Tensor> = {};
    for (const name of pastNames) {
      const source = past[name].data as Float32Array | Uint16Array;
      const copy = half
        ? new Uint16Array(source.length * batch)
        : new Float32Array(source.length * batch);
      for (let b = 0; b < batch; b++) copy.set(source, b * source.length);
      expanded[name] = tensor(copy, [batch, heads, PAST, headDim]);
    }
    return session.run(
      pick(feedsFor(batch, depth, expanded, PAST, chainBias(depth, PAST), range(depth)), input),
    );
  });
  return { label, rows, batch, depth, one, chain, tree, batched };
}

function pick(feeds: Record<string, ort.Tensor>, names: readonly string[]) {
  return Object.fromEntries(names.map(name => [name, feeds[name]]));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

it('prints the cost of one verification: tree in one forward vs batched paths vs best path only', async () => {
  const graphs: Graph[] = [];
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  // A 25M-parameter random Llama (dim 512, 8 layers, vocab 512): big enough that rows cost compute.
  const random = buildRandomLlama({ seed: 1, plain: true, contextLength: 1024 });
  const randomGraph = withBatchAxis(
    addTreeAttention(random.files['onnx/model.onnx'] as Uint8Array).onnx,
  );
  graphs.push({
    label: 'random Llama 25M (fp32, decomposed)',
    session: await ort.InferenceSession.create(randomGraph, options),
    vocab: 512,
  });
  const genai = join(
    mirror,
    '..',
    'fixtures',
    'hf-exports',
    'onnxruntime-genai-tiny-random-llama-fp16',
  );
  const genaiTree = (await addTreeAttentionToFolder(genai, join(work, 'genai'))).folder;
  graphs.push({
    label: 'onnxruntime-genai tiny fp16 (MultiHeadAttention, vocab 32000)',
    session: await ort.InferenceSession.create(join(genaiTree, 'model.onnx'), options),
    vocab: 32000,
  });
  const lines = [
    `| graph | 1 row | best path (${7} rows) | tree (81 rows, one forward) | batched paths | batched / tree |`,
    '|---|---|---|---|---|---|',
  ];
  for (const graph of graphs) {
    const cost = await verificationCosts(graph);
    lines.push(
      `| ${cost.label} | ${cost.one.toFixed(2)} ms | ${cost.chain.toFixed(2)} ms | ${cost.tree.toFixed(2)} ms | ${cost.batched.toFixed(2)} ms (${cost.batch} × ${cost.depth} rows) | ${(cost.batched / cost.tree).toFixed(1)}× |`,
    );
    await graph.session.release();
  }
  console.log(
    `Verification forward at a ${PAST}-token prefix, median of ${RUNS}, 1 thread:\n${lines.join('\n')}`,
  );
  expect(lines.length).toBe(2 + graphs.length);
});

it('prints token-recycling end to end on standard exports, as they are and rewritten', async () => {
  const prompts = readFileSync(join(mirror, '..', 'bench', 'stories.jsonl'), 'utf8')
    .split('\n')
    .filter(line => line.trim().length > 0)
    .map(line => JSON.parse(line) as { prompt: string; max_tokens: number })
    .slice(0, 10);
  const sources = [
    {
      name: 'stories260K',
      folder: join(mirror, 'karpathy', 'tinyllamas', 'stories260K'),
      bin: 'stories260K.bin',
    },
    { name: 'llama2xs', folder: join(mirror, 'llama2xs'), bin: 'model.bin' },
  ];
  const lines = [
    '| model | decoding | tokens/s | mean accepted / forward | forwards |',
    '|---|---|---|---|---|',
  ];
  for (const source of sources) {
    const { files } = convertLlama2c({
      checkpoint: new Uint8Array(readFileSync(join(source.folder, source.bin))),
      tokenizer: new Uint8Array(readFileSync(join(source.folder, 'tok512.bin'))),
      plain: true,
    });
    const plain = await writeModelFolder(join(work, source.name), files);
    const tree = (await addTreeAttentionToFolder(plain, join(work, `${source.name}-tree`))).folder;
    for (const [label, folder, drafter, adaptive] of [
      ['greedy (AR)', plain, false, true],
      ['token-recycling, chains only (export as is)', plain, true, true],
      ['token-recycling, tree attention (rewritten)', tree, true, true],
      ['token-recycling, chains only, adaptive sizing off', plain, true, false],
      ['token-recycling, tree attention, adaptive sizing off', tree, true, false],
    ] as const) {
      const model: LoadedModel = await loadModel(folder);
      let tokens = 0;
      let forwards = 0;
      let accepted = 0;
      let milliseconds = 0;
      for (const { prompt, max_tokens: maxTokens } of prompts) {
        const decoder = createDecoder({ model, tokenizer: model.tokenizer });
        const use = drafter
          ? decoder.use(speculative({ drafter: tokenRecycling(), adaptive }))
          : decoder;
        const result = await use.generate(prompt, { maxTokens, temperature: 0 });
        tokens += result.stats.generatedTokens;
        forwards += result.stats.forwardPasses;
        accepted += (result.stats.meanAcceptedTokens ?? 1) * result.stats.forwardPasses;
        milliseconds += result.stats.prefillMs + result.stats.decodeMs;
      }
      lines.push(
        `| ${source.name} | ${label} | ${((tokens / milliseconds) * 1000).toFixed(0)} | ${(accepted / forwards).toFixed(2)} | ${forwards} |`,
      );
      await model.dispose();
    }
  }
  console.log(`token-recycling, greedy, ${prompts.length} bench prompts:\n${lines.join('\n')}`);
  writeFileSync(join(work, 'table.md'), lines.join('\n'));
  expect(lines.length).toBe(2 + 5 * sources.length);
});
