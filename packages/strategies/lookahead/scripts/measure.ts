/**
 * Measures lookahead against autoregressive decoding on stories260K (same process, interleaved per
 * prompt), at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDecoder, speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { lookahead, type LookaheadOptions } from '../src/index.js';

const la = (options: LookaheadOptions) => () => {
  const drafter = lookahead(options);
  return speculative({ drafter, budget: drafter.rowsPerStep, adaptive: false });
};
const strategies: Record<string, () => Strategy> = {
  'lookahead W7N5G7 (paper)': la({}),
  'lookahead W4N3G2': la({ windowSize: 4, ngramSize: 3, guessSetSize: 2 }),
  'lookahead W3N4G2': la({ windowSize: 3, ngramSize: 4, guessSetSize: 2 }),
  'lookahead W5N4G3': la({ windowSize: 5, ngramSize: 4, guessSetSize: 3 }),
  'lookahead W4N4G2 pool': la({
    windowSize: 4,
    ngramSize: 4,
    guessSetSize: 2,
    poolFromPrompt: true,
  }),
};
const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Number(args.splice(repeatsAt, 2)[1]) : 2;
const names = args.length ? args : Object.keys(strategies);
// One instance per strategy for the whole run, as a decoder keeps its strategy: drafter state and the
// engine's cost calibration carry over between generations.
const instances = Object.fromEntries(names.map(name => [name, strategies[name]()]));
const bench = fileURLToPath(new URL('../../../../bench/', import.meta.url));
const model = await loadModel('karpathy/tinyllamas/stories260K');
const ar = createDecoder({ model });

for (const file of ['stories.jsonl', 'grounded.jsonl']) {
  const prompts = readFileSync(bench + file, 'utf8')
    .trim()
    .split('\n')
    .map(line => JSON.parse(line));
  for (const temperature of [0, 0.8]) {
    const totals = new Map<
      string,
      { tokens: number; ms: number; forwards: number; mismatches: number }
    >();
    const add = (name: string, tokens: number, ms: number, forwards: number, mismatch: boolean) => {
      const t = totals.get(name) ?? { tokens: 0, ms: 0, forwards: 0, mismatches: 0 };
      t.tokens += tokens;
      t.ms += ms;
      t.forwards += forwards;
      t.mismatches += mismatch ? 1 : 0;
      totals.set(name, t);
    };
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const [index, prompt] of prompts.entries()) {
        const options = { maxTokens: prompt.max_tokens ?? 128, temperature, seed: 1000 + index };
        const counted = repeat > 0 || repeats === 1; // the first of several rounds warms up
        const base = await ar.generate(prompt.prompt, options);
        if (counted)
          add('ar', base.tokens.length, base.stats.decodeMs, base.stats.forwardPasses - 1, false);
        for (const name of names) {
          const result = await createDecoder({ model })
            .use(instances[name])
            .generate(prompt.prompt, options);
          const mismatch = temperature === 0 && result.tokens.join() !== base.tokens.join();
          if (counted)
            add(
              name,
              result.tokens.length,
              result.stats.decodeMs,
              result.stats.forwardPasses - 1,
              mismatch,
            );
        }
      }
    }
    const arRate = totals.get('ar') ? totals.get('ar')!.tokens / totals.get('ar')!.ms : NaN;
    console.log(`\n${file} T=${temperature}`);
    for (const [name, t] of totals) {
      const rate = (t.tokens / t.ms) * 1000;
      console.log(
        `${name.padEnd(22)} ${rate.toFixed(0).padStart(6)} tok/s  ${(rate / 1000 / arRate).toFixed(2)}x  tau ${(t.tokens / t.forwards).toFixed(2)}  mismatches ${t.mismatches}`,
      );
    }
  }
}
await model.dispose();
