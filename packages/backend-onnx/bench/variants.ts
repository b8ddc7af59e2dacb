/**
 * The table of converter variants in README.md ("Bring your own model"): each variant decodekit's converter
 * writes, converted from the shared llama2.c checkpoints with `--plain` (the I/O of third-party exports), loaded
 * through this backend and decoded greedily on the bench prompts. Per variant: graph bytes, greedy agreement
 * with the fp32 graph (tokens identical before the first divergence, mean over prompts), AR tokens/s, and
 * whether the load-time probe lets several tokens run in one forward (drafts verified in one forward).
 *
 *   pnpm --filter @decodekit/backend-onnx run bench:variants [-- --limit 30 --write]
 *
 * Models come from DECODEKIT_MODELS (default ../shared/models next to the checkout), prompts from
 * ../shared/bench/stories.jsonl next to it. `--write` replaces the table between the README's markers.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDecoder } from '@decodekit/core';
import { convertLlama2c, type ConvertLlama2cInput } from '@decodekit/models';
import { createCpuBackend, describeGraph } from '../src/index';

const { values: args } = parseArgs({
  options: {
    limit: { type: 'string', default: '30' },
    write: { type: 'boolean', default: false },
  },
});
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const checkout = resolve(packageRoot, '..', '..');
// eslint-disable-next-line no-process-env -- bench script
const models = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? join(checkout, '..', 'shared', 'models'),
);
const promptsFile = join(models, '..', 'bench', 'stories.jsonl');
const prompts = readFileSync(promptsFile, 'utf8')
  .split('\n')
  .filter(line => line.trim().length > 0)
  .map(line => JSON.parse(line) as { id: string; prompt: string; max_tokens: number })
  .slice(0, Number(args.limit));

type Variant = Omit<ConvertLlama2cInput, 'checkpoint' | 'tokenizer'>;
const variants: Array<{ label: string; variant: Variant }> = [
  { label: 'fp32', variant: {} },
  { label: 'fp16', variant: { dtype: 'fp16' } },
  { label: 'q8 (per-row int8, MatMulInteger)', variant: { dtype: 'q8' } },
  {
    label: 'q8 per-tensor (DynamicQuantizeLinear)',
    variant: { dtype: 'q8', q8Activations: 'per-tensor' },
  },
  { label: 'q4 (MatMulNBits, block 32)', variant: { dtype: 'q4' } },
  { label: 'q4f16', variant: { dtype: 'q4f16' } },
  { label: 'merged (use_cache_branch)', variant: { layout: 'merged' } },
  { label: 'split (decoder_model + with_past)', variant: { layout: 'split' } },
  { label: 'no position_ids', variant: { positionIds: false } },
  { label: 'num_logits_to_keep', variant: { logitsToKeep: true } },
  { label: 'GroupQueryAttention (com.microsoft)', variant: { attention: 'group-query' } },
];
const sources = [
  {
    name: 'stories260K',
    checkpoint: join(models, 'karpathy', 'tinyllamas', 'stories260K', 'stories260K.bin'),
    tokenizer: join(models, 'karpathy', 'tinyllamas', 'stories260K', 'tok512.bin'),
  },
  {
    name: 'llama2xs',
    checkpoint: join(models, 'llama2xs', 'model.bin'),
    tokenizer: join(models, 'llama2xs', 'tok512.bin'),
  },
];

const work = mkdtempSync(join(tmpdir(), 'decodekit-variants-'));
const backend = createCpuBackend();
const rows: string[] = [];
for (const source of sources) {
  const checkpoint = new Uint8Array(readFileSync(source.checkpoint));
  const tokenizer = new Uint8Array(readFileSync(source.tokenizer));
  let reference: number[][] | undefined;
  for (const { label, variant } of variants) {
    const { files } = convertLlama2c({ checkpoint, tokenizer, plain: true, ...variant });
    const folder = join(work, `${source.name}-${label.replace(/\W+/g, '-')}`);
    let bytes = 0;
    for (const [relative, content] of Object.entries(files)) {
      mkdirSync(dirname(join(folder, relative)), { recursive: true });
      writeFileSync(join(folder, relative), content);
      if (relative.endsWith('.onnx')) bytes += statSync(join(folder, relative)).size;
    }
    const model = await backend.load(folder);
    const decoder = createDecoder({ model, tokenizer: model.tokenizer });
    const outputs: number[][] = [];
    let tokens = 0;
    let seconds = 0;
    for (const { prompt, max_tokens: maxTokens } of prompts) {
      const start = performance.now();
      const result = await decoder.generate(prompt, { maxTokens, temperature: 0 });
      seconds += (performance.now() - start) / 1000;
      tokens += result.tokens.length;
      outputs.push(result.tokens);
    }
    const multiRow = describeGraph(model)?.multiRow;
    await model.dispose();
    reference ??= outputs;
    let agreed = 0;
    let identical = 0;
    outputs.forEach((ids, index) => {
      const expected = (reference as number[][])[index];
      let same = 0;
      while (same < ids.length && same < expected.length && ids[same] === expected[same]) same++;
      agreed += same;
      if (same === ids.length && same === expected.length) identical++;
    });
    const meanAgreed = agreed / outputs.length;
    const meanLength = reference.reduce((sum, ids) => sum + ids.length, 0) / reference.length;
    const row =
      `| ${source.name} | ${label} | ${(bytes / 1024).toFixed(0)} KiB | ${meanAgreed.toFixed(1)} / ${meanLength.toFixed(1)} ` +
      `(${identical}/${outputs.length} identical) | ${(tokens / seconds).toFixed(0)} | ${multiRow?.onCache ? 'yes' : 'row by row'} |`;
    rows.push(row);
    process.stderr.write(`${row}\n`);
  }
}
const table = [
  `Measured by \`pnpm --filter @decodekit/backend-onnx run bench:variants\` (${prompts.length} prompts of ` +
    `stories.jsonl, greedy, max_tokens as given there, \`--plain\` conversions, 1 intra-op thread, onnxruntime-node ` +
    "1.30.0. Tokens/s depend on the machine's load (these come from a shared 2-core container running other jobs) and " +
    'swing 2-3× between runs; the agreement columns are exact. q4 (16 levels with a zero point per block of 32) is ' +
    'hard on these sub-1M-parameter models: the text stays fluent but leaves the fp32 path within a few tokens).',
  '',
  '| model | variant | graph size | tokens identical to fp32 before the first divergence (mean) | AR tok/s | drafts verified in one forward |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
process.stdout.write(`${table}\n`);
if (args.write) {
  const readme = join(packageRoot, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- variants:begin -->';
  const end = '<!-- variants:end -->';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${begin} … ${end} markers`);
  writeFileSync(readme, `${text.slice(0, from + begin.length)}\n${table}\n${text.slice(to)}`);
}
