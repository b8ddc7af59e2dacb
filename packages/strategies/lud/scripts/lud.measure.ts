// LUD with the LUD-fine-tuned stories260K (weights/stories260K-lud.bin) against autoregressive decoding of the
// same model, on the 30 prompts of bench/stories.jsonl (never in the training data: that was sampled from BOS)
// and on 30 held-out openings sampled as the training data was, greedy: tokens per step, speedup in wall time (AR and LUD interleaved per prompt, two rounds, the
// first discarded), prompts whose output differs from AR, perplexity under the base stories260K (eval's
// continuationNll) and distinct-2/3 (eval's distinctN), for a threshold sweep. The base model's AR and LUD rows
// are the reference (a model not tuned for LUD).
//
// Run (minutes): npx vitest run --config packages/eval/measure.config.ts packages/strategies/lud/scripts/lud.measure.ts
// LUD_THRESHOLDS=1.01,0.9,... and LUD_TOKENS=128 change the sweep and the length.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type LoadedModel, type Strategy } from '@decodekit/core';
import { continuationNll, distinctN } from '@decodekit/eval';
import { it } from 'vitest';
import { lud, type LudStrategy } from '../src/index.js';
import { LUD_PLACEHOLDER_TOKEN_ID, ludModelFolder } from './lud-model.js';

const THRESHOLDS = (process.env.LUD_THRESHOLDS ?? '1.01,0.95,0.9,0.8,0.7,0.6,0.5')
  .split(',')
  .map(Number);
const TOKENS = Number(process.env.LUD_TOKENS ?? 128);
const PLACEHOLDERS = 3;

it('lud table', async () => {
  const base = await loadModel('karpathy/tinyllamas/stories260K');
  const tuned = await loadModel(ludModelFolder());
  const { tokenizer } = base;
  const bench = readFileSync(
    fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url)),
    'utf8',
  )
    .trim()
    .split('\n')
    .map(line => tokenizer.encode((JSON.parse(line) as { prompt: string }).prompt));
  // The training distribution, held out: BOS + 8 tokens the base model samples at T = 1 (seeds 100000 + i; the
  // training data used seeds 0..399).
  const bos = tokenizer.encode('');
  const sampled: number[][] = [];
  for (let i = 0; i < 30; i++) {
    const { tokens } = await createDecoder({ model: base }).generate(
      { tokens: bos },
      { maxTokens: 8, temperature: 1, seed: 100_000 + i },
    );
    sampled.push([...bos, ...tokens]);
  }
  for (const [set, prompts] of [
    ['30 held-out bench/stories prompts', bench],
    ['30 held-out sampled openings (the training distribution)', sampled],
  ] as const)
    await table(set, prompts, base, tuned);
  await tuned.dispose();
  await base.dispose();
});

async function table(
  set: string,
  prompts: readonly number[][],
  base: LoadedModel,
  tuned: LoadedModel,
): Promise<void> {
  const { tokenizer } = base;

  interface Row {
    name: string;
    model: LoadedModel;
    strategy?: () => LudStrategy;
    ms: number;
    arMs: number;
    tokens: number;
    steps: number;
    differ: number;
    nll: number;
    scored: number;
    texts: string[];
  }
  const row = (name: string, model: LoadedModel, strategy?: () => LudStrategy): Row => ({
    name,
    model,
    strategy,
    ms: 0,
    arMs: 0,
    tokens: 0,
    steps: 0,
    differ: 0,
    nll: 0,
    scored: 0,
    texts: [],
  });
  const make = (threshold: number) => () =>
    lud({ threshold, placeholders: PLACEHOLDERS, placeholderTokenId: LUD_PLACEHOLDER_TOKEN_ID });
  const rows: Row[] = [
    row('base stories260K, AR', base),
    row('base stories260K, LUD τ=0.9 (untuned)', base, make(0.9)),
    row('LUD-tuned, AR', tuned),
    ...THRESHOLDS.map(threshold => row(`LUD-tuned, LUD τ=${threshold}`, tuned, make(threshold))),
  ];
  const generate = async (model: LoadedModel, strategy?: Strategy) => {
    let decoder = createDecoder({ model, tokenizer });
    if (strategy) decoder = decoder.use(strategy);
    const started = performance.now();
    const result = await decoder.generate(
      { tokens: prompt },
      { maxTokens: TOKENS, temperature: 0 },
    );
    return { ...result, ms: performance.now() - started };
  };
  let prompt: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (const ids of prompts) {
      prompt = ids;
      const reference = new Map<LoadedModel, Awaited<ReturnType<typeof generate>>>();
      for (const model of [base, tuned]) reference.set(model, await generate(model));
      for (const entry of rows) {
        const ar = reference.get(entry.model);
        if (!ar) continue;
        const strategy = entry.strategy?.();
        // AR of the same model right before, so both see the same machine load.
        const arAgain = strategy ? await generate(entry.model) : ar;
        const result = strategy ? await generate(entry.model, strategy) : ar;
        if (round === 0) continue;
        entry.ms += result.ms;
        entry.arMs += arAgain.ms;
        entry.tokens += result.tokens.length;
        entry.steps += strategy ? strategy.counters.steps : result.tokens.length;
        if (result.tokens.join() !== ar.tokens.join()) entry.differ++;
        const score = await continuationNll(base, prompt, result.tokens);
        entry.nll += score.nll;
        entry.scored += score.tokens;
        entry.texts.push(result.text);
      }
    }
  }
  console.log(
    `\n| stories260K, ${set}, greedy, ${TOKENS} tokens | tokens / step | speedup vs AR (same model) | differ from AR | ppl under base ↓ | distinct-2 ↑ | distinct-3 ↑ |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const entry of rows) {
    const speedup = entry.strategy ? `${(entry.arMs / entry.ms).toFixed(2)}×` : '1 (baseline)';
    console.log(
      `| ${entry.name} | ${(entry.tokens / entry.steps).toFixed(2)} | ${speedup} | ${entry.differ}/${prompts.length} | ${Math.exp(entry.nll / entry.scored).toFixed(3)} | ${distinctN(entry.texts, 2).toFixed(3)} | ${distinctN(entry.texts, 3).toFixed(3)} |`,
    );
  }
}
