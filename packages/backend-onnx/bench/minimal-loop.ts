/**
 * Tokens/s of greedy decoding on one graph: (a) a minimal hand-written onnxruntime-node loop and (b) this
 * backend's Sequence forward + commit loop, interleaved round by round so both see the same machine state.
 *
 *   pnpm --filter @decodekit/backend-onnx bench [-- --tokens 256 --rounds 7 --threads 1 --folder <model folder>]
 *
 * Without --folder it converts stories260K from the shared models (DECODEKIT_MODELS or /work/shared/models)
 * into a temp folder, once with decodekit's extensions and once --plain, and measures both graphs.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { createDecoder, type LoadedModel, type Tokenizer } from '@decodekit/core';
import { convertLlama2c } from '@decodekit/models';
import { createCpuBackend } from '../src/index';

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '7' },
    threads: { type: 'string', default: '1' },
    folder: { type: 'string' },
  },
});
const tokens = Number(args.tokens);
const rounds = Number(args.rounds);
const threads = Number(args.threads);
const prompt = [1, 403, 407, 261, 378]; // "Once upon a time"

function convertStories260K(plain: boolean): string {
  // eslint-disable-next-line no-process-env -- bench script
  const models = resolve(
    process.env.DECODEKIT_MODELS?.split(delimiter)[0] ??
      fileURLToPath(new URL('../../../../shared/models', import.meta.url)),
  );
  const source = join(models, 'karpathy', 'tinyllamas', 'stories260K');
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
    plain,
  });
  const folder = join(
    mkdtempSync(join(tmpdir(), 'decodekit-bench-')),
    plain ? 'stories260K-plain' : 'stories260K',
  );
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, relative)), { recursive: true });
    writeFileSync(join(folder, relative), content);
  }
  return folder;
}

function argmax(logits: Float32Array, offset: number, vocab: number): number {
  let best = 0;
  for (let token = 1; token < vocab; token++)
    if (logits[offset + token] > logits[offset + best]) best = token;
  return best;
}

/** (a) The loop one writes by hand against onnxruntime-node: run, argmax, feed the presents back. */
async function minimalLoop(
  session: ort.InferenceSession,
  steps: number,
): Promise<{ ids: number[]; seconds: number }> {
  const layers = session.inputNames.filter(name => /^past_key_values\.\d+\.key$/.test(name)).length;
  const meta = session.inputMetadata.find(entry => entry.name === 'past_key_values.0.key');
  const shape = meta?.isTensor ? meta.shape : [];
  const [heads, headDim] = [Number(shape[1]), Number(shape[3])];
  const hasBias = session.inputNames.includes('attention_bias');
  const hasSkip = session.inputNames.includes('skip_layers');
  const vocab = 512;
  let past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < layers; layer++) {
    for (const part of ['key', 'value']) {
      past[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        heads,
        0,
        headDim,
      ]);
    }
  }
  const step = async (input: number[], pastLength: number) => {
    const n = input.length;
    const total = pastLength + n;
    const feeds: Record<string, ort.Tensor> = {
      ...past,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(input, BigInt), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(input, (_, index) => BigInt(pastLength + index)),
        [1, n],
      ),
    };
    if (hasBias) {
      const bias = new Float32Array(n * total);
      for (let row = 0; row < n; row++)
        bias.fill(-1e9, row * total + pastLength + row + 1, (row + 1) * total);
      feeds.attention_bias = new ort.Tensor('float32', bias, [1, 1, n, total]);
    }
    if (hasSkip) feeds.skip_layers = new ort.Tensor('bool', new Uint8Array(layers), [layers]);
    const outputs = await session.run(feeds);
    const next: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < layers; layer++) {
      for (const part of ['key', 'value'])
        next[`past_key_values.${layer}.${part}`] = outputs[
          `present.${layer}.${part}`
        ] as ort.Tensor;
    }
    past = next;
    return argmax(outputs.logits.data as Float32Array, (n - 1) * vocab, vocab);
  };
  let token = await step(prompt, 0);
  const ids = [token];
  const start = performance.now();
  for (let index = 0; index < steps; index++) {
    token = await step([token], prompt.length + index);
    ids.push(token);
  }
  return { ids, seconds: (performance.now() - start) / 1000 };
}

/** (b) The same decode through the backend: Sequence.forward + commit. */
async function backendLoop(
  model: LoadedModel,
  steps: number,
): Promise<{ ids: number[]; seconds: number }> {
  const vocab = model.info.vocabSize;
  const sequence = model.createSequence();
  const { logits } = await sequence.forward({ tokens: Int32Array.from(prompt) });
  sequence.commit(prompt.map((_, index) => index));
  let token = argmax(logits, (prompt.length - 1) * vocab, vocab);
  const ids = [token];
  const input = new Int32Array(1);
  const start = performance.now();
  for (let index = 0; index < steps; index++) {
    input[0] = token;
    const output = await sequence.forward({ tokens: input });
    sequence.commit([0]);
    token = argmax(output.logits, 0, vocab);
    ids.push(token);
  }
  const seconds = (performance.now() - start) / 1000;
  sequence.dispose();
  return { ids, seconds };
}

/** (c) The whole decoder: createDecoder(...).generate, with its processors, events and detokenizer. */
async function decoderLoop(
  model: LoadedModel,
  steps: number,
): Promise<{ ids: number[]; seconds: number }> {
  const result = await createDecoder({ model }).generate(
    { tokens: prompt },
    { maxTokens: steps + 1, ignoreEos: true },
  );
  // decodeMs covers every decode step after the prefill of the prompt minus its last token.
  return { ids: result.tokens, seconds: result.stats.decodeMs / 1000 };
}

/** The bench only decodes ids, so a tokenizer that knows its size is enough (and costs nothing to build). */
function sizeOnlyTokenizer({
  tokenizerJson,
}: {
  tokenizerJson: Readonly<Record<string, unknown>>;
}): Tokenizer {
  const vocabSize = Object.keys((tokenizerJson.model as { vocab: object }).vocab).length;
  const unsupported = () => {
    throw new Error('not needed by the bench');
  };
  return {
    vocabSize,
    eosTokenIds: [],
    encode: unsupported,
    decode: unsupported,
    idToToken: () => undefined,
    tokenBytes: () => undefined,
    applyChatTemplate: unsupported,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function bench(label: string, folder: string): Promise<void> {
  const session = await ort.InferenceSession.create(join(folder, 'onnx', 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const model = await createCpuBackend({
    intraOpNumThreads: threads,
    createTokenizer: sizeOnlyTokenizer,
  }).load(folder);
  const full = await createCpuBackend({ intraOpNumThreads: threads }).load(folder);
  // Warm up all three (first runs allocate arenas and JIT the JS).
  await minimalLoop(session, 32);
  await backendLoop(model, 32);
  await decoderLoop(full, 32);
  const minimal: number[] = [];
  const ours: number[] = [];
  const decoder: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order =
      round % 2 === 0 ? ['minimal', 'backend', 'decoder'] : ['decoder', 'backend', 'minimal'];
    for (const which of order) {
      if (which === 'decoder') {
        const { seconds, ids } = await decoderLoop(full, tokens);
        decoder.push(ids.length / seconds);
      } else if (which === 'minimal') {
        const { seconds } = await minimalLoop(session, tokens);
        minimal.push(tokens / seconds);
      } else {
        const { seconds } = await backendLoop(model, tokens);
        ours.push(tokens / seconds);
      }
    }
  }
  const [a, b] = await Promise.all([minimalLoop(session, 64), backendLoop(model, 64)]);
  const same = a.ids.join() === b.ids.join();
  const ratio = median(ours) / median(minimal);
  console.log(
    `${label.padEnd(28)} minimal loop ${median(minimal).toFixed(0).padStart(6)} tok/s | backend ${median(ours).toFixed(0).padStart(6)} tok/s | ` +
      `backend/minimal ${ratio.toFixed(3)} | decoder ${median(decoder).toFixed(0).padStart(6)} tok/s, decoder/minimal ${(median(decoder) / median(minimal)).toFixed(3)} | same tokens: ${same}`,
  );
  await full.dispose();
  await session.release();
  await model.dispose();
}

console.log(
  `onnxruntime-node ${ort.env.versions.node ?? ''} CPU, ${threads} intra-op thread(s), ${tokens} tokens × ${rounds} rounds (medians)`,
);
if (args.folder) {
  await bench(args.folder, args.folder);
} else {
  await bench('stories260K (extended graph)', convertStories260K(false));
  await bench('stories260K (--plain graph)', convertStories260K(true));
}
