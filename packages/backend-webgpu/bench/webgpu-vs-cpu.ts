/**
 * Tokens/s of greedy decoding of stories260K ("Once upon a time") on the CPU backend and on the WebGPU backend
 * (Node, onnxruntime-node + Dawn), autoregressive and with two lossless strategies. Rounds are interleaved so
 * every configuration sees the same machine state; medians are printed.
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
 *     pnpm --filter @decodekit/backend-webgpu bench [-- --tokens 64 --rounds 3]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createDecoder, speculative, type LoadedModel, type Strategy } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { convertLlama2c } from '@decodekit/models';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { createWebGpuBackend } from '../src/index';

const { values: args } = parseArgs({
  options: { tokens: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' } },
});
const maxTokens = Number(args.tokens);
const rounds = Number(args.rounds);

// eslint-disable-next-line no-process-env -- bench script
const models = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ??
    fileURLToPath(new URL('../../../../shared/models', import.meta.url)),
);
const source = join(models, 'karpathy', 'tinyllamas', 'stories260K');
const { files } = convertLlama2c({
  checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
  tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
  name: 'karpathy/tinyllamas/stories260K',
});
const folder = mkdtempSync(join(tmpdir(), 'decodekit-webgpu-bench-'));
for (const [relative, content] of Object.entries(files)) {
  mkdirSync(dirname(join(folder, relative)), { recursive: true });
  writeFileSync(join(folder, relative), content);
}

const cpu = await createCpuBackend().load(folder);
const gpu = await createWebGpuBackend().load(folder);
const prompt = [1, 403, 407, 261, 378];
const configs: [string, LoadedModel, (() => Strategy) | undefined][] = [
  ['cpu  autoregressive', cpu, undefined],
  ['webgpu autoregressive', gpu, undefined],
  ['webgpu prompt-lookup', gpu, () => speculative({ drafter: promptLookup() })],
  ['webgpu token-recycling', gpu, () => speculative({ drafter: tokenRecycling(), budget: 32 })],
];
const runs = new Map<string, number[]>();
let reference: string | undefined;
for (let round = 0; round <= rounds; round++) {
  for (const [name, model, make] of configs) {
    let decoder = createDecoder({ model });
    if (make) decoder = decoder.use(make());
    const start = performance.now();
    const { tokens } = await decoder.generate({ tokens: prompt }, { maxTokens, temperature: 0 });
    const seconds = (performance.now() - start) / 1000;
    reference ??= tokens.join();
    if (tokens.join() !== reference) throw new Error(`${name} produced different tokens`);
    if (round > 0) runs.set(name, [...(runs.get(name) ?? []), tokens.length / seconds]); // round 0 warms up
  }
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [name, values] of runs)
  console.log(`${name.padEnd(24)} ${median(values).toFixed(1).padStart(8)} tok/s`);
console.log(
  `webgpu device stats: ${JSON.stringify((gpu as { deviceStats?: unknown }).deviceStats)}`,
);
await gpu.dispose();
await cpu.dispose();
