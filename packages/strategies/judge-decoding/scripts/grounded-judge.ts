/**
 * Judge decoding with a judge trained on CORRECTNESS labels (the paper's point), on a checkable task: grounded
 * character names — a continuation is correct when every character name it mentions occurs in its context.
 *
 * 1. Corpus: stories260K's own generations (T = 0.8, seeds 0..N-1, from BOS). Names = words it writes
 *    capitalised mid-sentence (`characterNames`).
 * 2. Training data: llama2xs continues the first 48 tokens of each corpus story (greedy and T = 0.8); every
 *    draft token is labelled by the grounded-names check (`groundedNamesLabeler`), never by likelihood.
 * 3. The linear head is fitted on stories260K's hidden states at the draft tokens' rows.
 * 4. Held out: bench/stories.jsonl + bench/grounded.jsonl, T = 0, 96 tokens: acceptance, tokens per target
 *    forward, task accuracy (share of continuations with no foreign name) and perplexity under stories260K for
 *    standard verification, the trained judge at several thresholds, the likelihood-proxy judge (the shipped
 *    fixture) and an accept-everything judge (negative control).
 * With DECODEKIT_WRITE_HEAD=1 it writes src/__fixtures__/grounded-names-judge.json (+ the names list).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-judge-decoding...
 *   cd packages/strategies/judge-decoding
 *   DECODEKIT_MODELS=../../../../shared/models node ../../../node_modules/.pnpm/node_modules/tsx/dist/cli.mjs \
 *     scripts/grounded-judge.ts [--stories 160]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type CausalLM } from '@decodekit/core';
import {
  characterNames,
  collectJudgeSamples,
  fitJudgeHead,
  foreignNames,
  groundedNamesLabeler,
  judgeDecoding,
  linearJudgeHead,
  rocAuc,
  type JudgeHead,
} from '../src/index.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const storyCount = flag('--stories', 160);
const tokens = flag('--tokens', 96);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const { tokenizer } = target;

// 1. The target's own stories and their character names.
const started = Date.now();
const storyDecoder = createDecoder({ model: target, tokenizer });
const stories: number[][] = [];
for (let seed = 0; seed < storyCount; seed++) {
  const { tokens: ids } = await storyDecoder.generate(
    { tokens: tokenizer.encode('') },
    { maxTokens: 96, temperature: 0.8, seed },
  );
  stories.push(ids);
}
const names = characterNames(stories.map(ids => tokenizer.decode(ids)));
console.log(
  `corpus: ${stories.length} stories; ${names.size} names: ${[...names].sort().join(', ')}`,
);

// 2.-3. Correctness-labelled training data and the head.
const label = groundedNamesLabeler({ tokenizer, names });
const bos = tokenizer.encode('');
const trainPrompts = stories.map(ids => [...bos, ...ids.slice(0, 48)]);
const train = [
  ...(await collectJudgeSamples({ draft, target, prompts: trainPrompts, tokens: 64, label })),
  ...(await collectJudgeSamples({
    draft,
    target,
    prompts: trainPrompts,
    tokens: 64,
    label,
    temperature: 0.8,
    seed: 10_000,
  })),
];
const heldOut = [
  ...readFileSync(here('../../../../bench/stories.jsonl'), 'utf8').trim().split('\n'),
  ...readFileSync(here('../../../../bench/grounded.jsonl'), 'utf8').trim().split('\n'),
].map(line => (JSON.parse(line) as { prompt: string }).prompt);
const heldOutIds = heldOut.map(text => tokenizer.encode(text));
const test = await collectJudgeSamples({
  draft,
  target,
  prompts: heldOutIds,
  tokens: 64,
  label,
  temperature: 0.8,
  seed: 20_000,
});
const head = fitJudgeHead(train, { l2: 1 });
const negatives = (samples: typeof train) => samples.filter(s => s.label === 0).length;
const auc = rocAuc(
  test.map(sample => head.score(sample.features)),
  test.map(sample => sample.label),
);
console.log(
  `train ${train.length} draft tokens (${negatives(train)} incorrect), held-out ${test.length} ` +
    `(${negatives(test)} incorrect); held-out ROC AUC ${auc.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
if (process.env.DECODEKIT_WRITE_HEAD) {
  writeFileSync(
    here('../src/__fixtures__/grounded-names-judge.json'),
    `${JSON.stringify({ ...head.toJSON(), names: [...names].sort() })}\n`,
  );
}

// 4. Decoding on the held-out prompts.
async function perplexity(model: CausalLM, prompt: number[], output: number[]): Promise<number> {
  const all = [...prompt, ...output];
  const sequence = model.createSequence();
  try {
    const { logits } = await sequence.forward({ tokens: Int32Array.from(all) });
    const vocab = model.info.vocabSize;
    let nll = 0;
    for (let p = prompt.length; p < all.length; p++) {
      const row = logits.subarray((p - 1) * vocab, p * vocab);
      let max = -Infinity;
      for (const v of row) if (v > max) max = v;
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      nll += -(row[all[p]] - max - Math.log(sum));
    }
    return nll / Math.max(1, output.length);
  } finally {
    sequence.dispose();
  }
}
const proxy = linearJudgeHead(
  JSON.parse(readFileSync(here('../src/__fixtures__/llama2xs-stories260K-judge.json'), 'utf8')),
);
const acceptAll: JudgeHead = { inputSize: target.info.hiddenSize, score: () => 1 };
const configurations: [string, JudgeHead | undefined, number][] = [
  ['standard verification (∞)', undefined, Infinity],
  ...[0.99, 0.95, 0.9, 0.7, 0.5].map(
    t => [`correctness judge > ${t}`, head, t] as [string, JudgeHead, number],
  ),
  ['likelihood-proxy judge > 0.9', proxy, 0.9],
  ['likelihood-proxy judge > 0.5', proxy, 0.5],
  ['accept everything (control)', acceptAll, 0.5],
];
console.log(
  '\n| configuration | acceptance | tokens / target forward | task accuracy | foreign names / 1k tokens | ppl |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, judge, threshold] of configurations) {
  const strategy = judgeDecoding({ draft, judge, threshold, draftLength: 5 });
  let correct = 0;
  let foreign = 0;
  let emitted = 0;
  let nll = 0;
  for (const [i, prompt] of heldOutIds.entries()) {
    const result = await createDecoder({ model: target, tokenizer })
      .use(strategy)
      .generate({ tokens: prompt }, { maxTokens: tokens, temperature: 0 });
    const found = foreignNames(heldOut[i], tokenizer.decode(result.tokens), names);
    if (found.length === 0) correct++;
    foreign += found.length;
    emitted += result.tokens.length;
    nll += (await perplexity(target, prompt, result.tokens)) * result.tokens.length;
  }
  const t = strategy.totals;
  console.log(
    `| ${name} | ${((100 * (t.acceptedByTarget + t.acceptedByJudge)) / t.proposed).toFixed(1)} % ` +
      `(target ${((100 * t.acceptedByTarget) / t.proposed).toFixed(1)}, judge ${((100 * t.acceptedByJudge) / t.proposed).toFixed(1)}) ` +
      `| ${(emitted / t.steps).toFixed(2)} | ${correct}/${heldOutIds.length} | ${((1000 * foreign) / emitted).toFixed(1)} ` +
      `| ${Math.exp(nll / emitted).toFixed(2)} |`,
  );
}
await target.dispose();
await draft.dispose();
