/**
 * S2D before and after Sorted Fine-Tuning, on bench/stories.jsonl (30 prompts × 128 tokens, T = 0 and 0.8,
 * seed = prompt index): for each draft policy — one fixed exit (first 2, 3 or 4 layers) or the adaptive
 * per-token exit choice over {2, 3, 4} at a threshold τ — the acceptance (accepted / proposed draft tokens),
 * τ̄ (tokens per target forward, draftLength 4), the share of draft tokens each exit emitted and the mean draft
 * layers run per draft token, plus mismatches against the target's AR at T = 0 (must be 0).
 * Before: the exits of stories260K serving stories260K. After: the exits of the SoFT'ed model (the committed
 * `weights/stories260K-soft.bin`) serving two targets at once — the SoFT'ed full model and the original stories260K.
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/s2d/scripts/s2d.measure.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDecoder, type CausalLM, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { it } from 'vitest';
import { s2d } from '../src/index.js';
import { SOFT_CHECKPOINT, nestedExitFolders, stories260KFiles } from './nested-exits.js';

const MAX_TOKENS = Number(process.env.S2D_MAX_TOKENS ?? 128);
const THRESHOLDS = [0.5, 0.8];
const prompts = readFileSync(
  fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url)),
  'utf8',
)
  .split('\n')
  .filter(line => line.trim())
  .map(line => (JSON.parse(line) as { prompt: string }).prompt);

interface Row {
  policy: string;
  target: string;
  temperature: number;
  acceptance: number;
  tau: number;
  exitShare: string;
  layersPerDraftToken: number;
  mismatches: number | undefined;
}

async function measure(
  policy: string,
  exits: { model: CausalLM; layers: number }[],
  threshold: number,
  targets: { name: string; model: LoadedModel; reference: Map<number, number[]> }[],
  temperature: number,
): Promise<Row[]> {
  const family = s2d({ exits: exits.map(exit => exit.model), threshold });
  const rows: Row[] = [];
  for (const target of targets) {
    let generated = 0;
    let forwards = 0;
    let mismatches = 0;
    for (const [i, prompt] of prompts.entries()) {
      const result = await createDecoder({ model: target.model, tokenizer: target.model.tokenizer })
        .use(family.strategy())
        .generate(prompt, { maxTokens: MAX_TOKENS, temperature, seed: i });
      generated += result.stats.generatedTokens;
      forwards += result.stats.forwardPasses - 1;
      if (temperature === 0 && result.tokens.join() !== target.reference.get(i)?.join())
        mismatches++;
    }
    const stats = family.stats.get(target.model.info.name);
    if (!stats) throw new Error(`no stats for ${target.model.info.name}`);
    // An exit asked for a token runs its layers; the adaptive policy asks the shallower exits first.
    let layers = 0;
    stats.exitProposed.forEach((count, e) => {
      const asked = exits.slice(0, e + 1).reduce((sum, exit) => sum + exit.layers, 0);
      layers += count * asked;
    });
    rows.push({
      policy,
      target: target.name,
      temperature,
      acceptance: stats.accepted / stats.proposed,
      tau: generated / forwards,
      exitShare: stats.exitProposed
        .map(
          (count, e) =>
            `${exits[e].layers}:${Math.round((100 * count) / Math.max(1, stats.proposed))}%`,
        )
        .join(' '),
      layersPerDraftToken: layers / stats.proposed,
      mismatches: temperature === 0 ? mismatches : undefined,
    });
  }
  return rows;
}

async function arReference(model: LoadedModel): Promise<Map<number, number[]>> {
  const reference = new Map<number, number[]>();
  for (const [i, prompt] of prompts.entries()) {
    const result = await createDecoder({ model, tokenizer: model.tokenizer }).generate(prompt, {
      maxTokens: MAX_TOKENS,
      temperature: 0,
    });
    reference.set(i, result.tokens);
  }
  return reference;
}

it('S2D before vs after SoFT', async () => {
  const files = stories260KFiles();
  const layers = [2, 3, 4];
  const original = await loadModel('karpathy/tinyllamas/stories260K');
  const beforeExits = await Promise.all(
    (await nestedExitFolders(files.checkpoint, files.tokenizer, layers, 'stories260K')).map(
      folder => loadModel(folder),
    ),
  );
  const softFolders = await nestedExitFolders(
    SOFT_CHECKPOINT,
    files.tokenizer,
    [...layers, 5],
    'stories260K-soft',
  );
  const softModels = await Promise.all(softFolders.map(folder => loadModel(folder)));
  const soft = softModels[3];
  const originalTarget = {
    name: 'stories260K',
    model: original,
    reference: await arReference(original),
  };
  const softTarget = { name: 'stories260K-SoFT', model: soft, reference: await arReference(soft) };
  const rows: (Row & { draft: string })[] = [];
  for (const temperature of [0, 0.8]) {
    for (const [draft, models, targets] of [
      ['before SoFT', beforeExits, [originalTarget]],
      ['after SoFT', softModels.slice(0, 3), [softTarget, originalTarget]],
    ] as const) {
      const exits = models.map((model, i) => ({ model, layers: layers[i] }));
      const policies: [string, { model: CausalLM; layers: number }[], number][] = [
        ...exits.map(exit => [`exit ${exit.layers}`, [exit], 0] as [string, typeof exits, number]),
        ...THRESHOLDS.map(
          threshold =>
            [`adaptive τ=${threshold}`, exits, threshold] as [string, typeof exits, number],
        ),
      ];
      for (const [policy, policyExits, threshold] of policies) {
        for (const row of await measure(
          policy,
          policyExits,
          threshold,
          [...targets],
          temperature,
        )) {
          rows.push({ ...row, draft });
          console.log(JSON.stringify(rows.at(-1)));
        }
      }
    }
  }
  console.log(
    '\n| T | draft exits | policy | target | acceptance | τ̄ | exits used | draft layers / token | mismatches |',
  );
  console.log('| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |');
  for (const row of rows)
    console.log(
      `| ${row.temperature} | ${row.draft} | ${row.policy} | ${row.target} | ${row.acceptance.toFixed(3)} | ${row.tau.toFixed(2)} | ${row.exitShare} | ${row.layersPerDraftToken.toFixed(2)} | ${row.mismatches ?? '—'} |`,
    );
  for (const model of [original, ...beforeExits, ...softModels]) await model.dispose();
}, 3_600_000);
