// 1. Checks that a stories260K forward and a llama2xs forward issued together (Promise.all) overlap in
//    wall time on onnxruntime-node. 2. Measures PEARL (concurrent and sequential scheduling) against
//    autoregressive decoding and sequential SpS (draft-model, fixed length) on bench/stories.jsonl.
// Off by default (about a minute): DECODEKIT_MEASURE=1 npx vitest run packages/strategies/pearl/src/measure.int.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import type { LoadedModel, Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, it } from 'vitest';
import { pearl } from './index.js';
import { workerModel } from './__fixtures__/worker-model.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });

async function measure(
  target: LoadedModel,
  make: (() => Strategy) | undefined,
  temperature: number,
) {
  let tokens = 0;
  let forwards = 0;
  let decodeMs = 0;
  const outputs: number[][] = [];
  for (const [index, prompt] of prompts.entries()) {
    let decoder = createDecoder({ model: target, tokenizer: target.tokenizer });
    if (make) decoder = decoder.use(make());
    const result = await decoder.generate(prompt.prompt, {
      maxTokens: prompt.max_tokens,
      temperature,
      seed: index,
    });
    tokens += result.stats.generatedTokens;
    forwards += result.stats.forwardPasses - 1;
    decodeMs += result.stats.decodeMs;
    outputs.push(result.tokens);
  }
  return {
    tokPerS: Math.round((tokens / decodeMs) * 1000),
    tau: +(tokens / forwards).toFixed(2),
    decodeMs: Math.round(decodeMs),
    outputs,
  };
}

describe.skipIf(!process.env.DECODEKIT_MEASURE)('pearl measurements', () => {
  it('overlap check and speedup vs sequential SpS', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const prompt = Int32Array.from(target.tokenizer.encode(prompts[0].prompt));
    const t = target.createSequence();
    const d = draft.createSequence();
    await t.forward({ tokens: prompt });
    t.commit(Array.from(prompt, (_, i) => i));
    await d.forward({ tokens: prompt });
    d.commit(Array.from(prompt, (_, i) => i));
    const five = Int32Array.of(5, 6, 7, 8, 9);
    const one = Int32Array.of(5);
    const runs = 300;
    const time = async (f: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await f();
      const start = performance.now();
      for (let i = 0; i < runs; i++) await f();
      return (performance.now() - start) / runs;
    };
    const targetMs = await time(() => t.forward({ tokens: five }));
    const draftMs = await time(() => d.forward({ tokens: one }));
    const bothMs = await time(() =>
      Promise.all([t.forward({ tokens: five }), d.forward({ tokens: one })]),
    );
    const overlap: Record<string, number> = {
      targetForward5RowsMs: +targetMs.toFixed(3),
      draftForward1RowMs: +draftMs.toFixed(3),
      bothPromiseAllMs: +bothMs.toFixed(3),
      sumMs: +(targetMs + draftMs).toFixed(3),
      maxMs: +Math.max(targetMs, draftMs).toFixed(3),
    };
    // The same with the draft model in a worker thread (its own JS thread and ORT session).
    const remote = await workerModel('llama2xs');
    const w = remote.createSequence();
    await w.forward({ tokens: prompt });
    w.commit(Array.from(prompt, (_, i) => i));
    const workerDraftMs = await time(() => w.forward({ tokens: one }));
    const bothWorkerMs = await time(() =>
      Promise.all([t.forward({ tokens: five }), w.forward({ tokens: one })]),
    );
    Object.assign(overlap, {
      workerDraftForward1RowMs: +workerDraftMs.toFixed(3),
      bothWithWorkerDraftMs: +bothWorkerMs.toFixed(3),
    });
    console.log('overlap', JSON.stringify(overlap));
    t.dispose();
    d.dispose();
    w.dispose();

    const rows: Record<string, unknown>[] = [];
    for (const temperature of [0, 0.8]) {
      const ar = await measure(target, undefined, temperature);
      rows.push({ temperature, name: 'ar', tokPerS: ar.tokPerS, tau: ar.tau });
      for (const gamma of [2, 4]) {
        const configs: [string, () => Strategy][] = [
          [
            `sps fixed ${gamma}`,
            () =>
              speculative({
                drafter: draftModel({
                  model: draft,
                  temperature,
                  numAssistantTokens: gamma,
                  schedule: 'constant',
                }),
                adaptive: false,
              }),
          ],
          [`pearl γ=${gamma} concurrent`, () => pearl({ model: draft, gamma, temperature })],
          [
            `pearl γ=${gamma} sequential`,
            () => pearl({ model: draft, gamma, temperature, concurrent: false }),
          ],
          [
            `sps fixed ${gamma} (worker draft)`,
            () =>
              speculative({
                drafter: draftModel({
                  model: remote,
                  temperature,
                  numAssistantTokens: gamma,
                  schedule: 'constant',
                }),
                adaptive: false,
              }),
          ],
          [
            `pearl γ=${gamma} concurrent (worker draft)`,
            () => pearl({ model: remote, gamma, temperature }),
          ],
        ];
        const results: Awaited<ReturnType<typeof measure>>[] = [];
        for (const [name, make] of configs) {
          const r = await measure(target, make, temperature);
          results.push(r);
          const same =
            temperature === 0
              ? r.outputs.every((o, i) => o.join() === ar.outputs[i].join())
              : undefined;
          rows.push({
            temperature,
            name,
            tokPerS: r.tokPerS,
            tau: r.tau,
            speedupVsSps: +(results[0].decodeMs / r.decodeMs).toFixed(2),
            sameAsAr: same,
          });
        }
        if (results[1].outputs.some((o, i) => o.join() !== results[2].outputs[i].join()))
          throw new Error('concurrent and sequential PEARL differ');
      }
      console.table(rows.filter(r => r.temperature === temperature));
    }
    await remote.terminate();
    writeFileSync('/tmp/pearl-measure.json', JSON.stringify({ overlap, rows }, null, 1));
  }, 900_000);
});
