/**
 * Fits a judge head on llama2xs → stories260K (bench/stories.jsonl prompts 0–19), reports its ROC AUC on
 * prompts 20–29, and runs judge decoding on prompts 20–29 at T = 0 for several thresholds (a benchmark):
 * tokens per second, τ and mismatches against stories260K greedy (measureStrategies' AR baseline), then the
 * acceptance split into target-accepted and judge-accepted drafts. With DECODEKIT_WRITE_HEAD=1 it rewrites
 * src/__fixtures__/llama2xs-stories260K-judge.json.
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-judge-decoding...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/judge-decoding/scripts/measure.ts [--repeats N]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { collectJudgeSamples, fitJudgeHead, judgeDecoding, rocAuc } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const lines = readFileSync(
  fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url)),
  'utf8',
)
  .trim()
  .split('\n');
const heldOutFile = join(mkdtempSync(join(tmpdir(), 'judge-decoding-')), 'held-out.jsonl');
writeFileSync(heldOutFile, `${lines.slice(20).join('\n')}\n`);

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const encoded = lines.map(line =>
  target.tokenizer.encode((JSON.parse(line) as { prompt: string }).prompt),
);
const train = await collectJudgeSamples({
  draft,
  target,
  prompts: encoded.slice(0, 20),
  tokens: 128,
});
const test = await collectJudgeSamples({ draft, target, prompts: encoded.slice(20), tokens: 128 });
const head = fitJudgeHead(train, { l2: 1 });
const positives = (samples: typeof train) =>
  samples.filter(sample => sample.label === 1).length / samples.length;
const auc = rocAuc(
  test.map(sample => head.score(sample.features)),
  test.map(sample => sample.label),
);
console.log(
  `samples: train ${train.length} (${(100 * positives(train)).toFixed(1)}% acceptable), held-out ${test.length} ` +
    `(${(100 * positives(test)).toFixed(1)}%), held-out ROC AUC ${auc.toFixed(3)}`,
);
if (process.env.DECODEKIT_WRITE_HEAD) {
  writeFileSync(
    fileURLToPath(new URL('../src/__fixtures__/llama2xs-stories260K-judge.json', import.meta.url)),
    `${JSON.stringify(head.toJSON())}\n`,
  );
}
const strategies = Object.fromEntries(
  [Infinity, 0.95, 0.9, 0.8, 0.7, 0.5].map(threshold => [
    `judge h=${threshold}`,
    judgeDecoding({ draft, judge: head, threshold, draftLength: 5 }),
  ]),
);
await measureStrategies({
  model: target,
  strategies,
  promptFiles: [heldOutFile],
  temperatures: [0],
  repeats,
});
for (const [name, strategy] of Object.entries(strategies)) {
  const totals = strategy.totals;
  const percent = (count: number) => ((100 * count) / totals.proposed).toFixed(1);
  console.log(
    `${name}: acceptance ${percent(totals.acceptedByTarget + totals.acceptedByJudge)}% (target ${percent(totals.acceptedByTarget)}%, judge ${percent(totals.acceptedByJudge)}%)`,
  );
}
await target.dispose();
await draft.dispose();
