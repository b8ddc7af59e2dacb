// τ and speed of RAPID vs autoregressive and vs a draft model on the full context, on long grounded prompts.
// `npx vitest run --config packages/retrieval/rapid/measure.config.ts packages/retrieval/rapid/scripts/rapid.measure.ts`
import { readFileSync } from 'node:fs';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, speculative, type Strategy } from '@decodekit/core';
import { causalLmEmbedder, dot } from '@decodekit/retrieval-dense';
import { draftModel } from '@decodekit/strategy-draft-model';
import { it } from 'vitest';
import {
  bm25ChunkScorer,
  rapidDrafter,
  rapidTransferVerifier,
  type ChunkScorer,
  type RapidDrafter,
} from '../src/index.js';

it('RAPID on long grounded prompts', async () => {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const xs = await loadModel('llama2xs');
  const grounded = readFileSync(
    new URL('../../../../bench/grounded.jsonl', import.meta.url),
    'utf8',
  )
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as { prompt: string });
  const stories = readFileSync(new URL('../../../../bench/stories.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as { prompt: string });
  // Long prompt: unrelated stories first (the bench story prompts and the other grounded stories' first
  // paragraphs), then the grounded prompt (a story, then its retelling to continue); ≤ 384 tokens so that 128
  // generated tokens fit stories260K's 512 context.
  const maxPrompt = 384;
  const length = (text: string) => model.tokenizer.encode(text).length;
  const prompts = grounded.map(({ prompt }, g) => {
    const fillers = [
      ...grounded.filter((_, i) => i !== g).map(other => other.prompt.split('\n\n')[0]),
      ...stories.map(s => s.prompt),
    ];
    let context = prompt;
    for (const filler of fillers) {
      const longer = `${filler}\n\n${context}`;
      if (length(longer) > maxPrompt) continue;
      context = longer;
    }
    return context;
  });
  const dense = causalLmEmbedder({
    model,
    tokenizer: model.tokenizer,
    pooling: 'mean',
    echo: true,
  });
  const denseScorer: ChunkScorer = async (chunks, query) => {
    const q = await dense.embed(model.tokenizer.decode([...query]));
    return Promise.all(
      chunks.map(async chunk => dot(q, await dense.embed(model.tokenizer.decode([...chunk])))),
    );
  };
  const rapidOptions = { chunkTokens: 32, topChunks: 4, recentTokens: 64, numDraftTokens: 5 };
  const configurations: {
    name: string;
    temperatures?: number[];
    strategy?: () => { strategy: Strategy; drafter?: RapidDrafter };
  }[] = [
    { name: 'autoregressive' },
    {
      name: 'draft stories260K, full context (draftModel)',
      strategy: () => ({
        strategy: speculative({
          drafter: draftModel({ model, numAssistantTokens: 5, schedule: 'constant' }),
        }),
      }),
    },
    {
      name: 'draft llama2xs, full context (draftModel)',
      strategy: () => ({
        strategy: speculative({
          drafter: draftModel({ model: xs, numAssistantTokens: 5, schedule: 'constant' }),
        }),
      }),
    },
    ...(['bm25', 'dense'] as const).flatMap(kind => [
      {
        name: `RAPID stories260K self, ${kind}`,
        strategy: () => {
          const drafter = rapidDrafter({
            ...rapidOptions,
            scorer: kind === 'bm25' ? bm25ChunkScorer() : denseScorer,
          });
          return { strategy: speculative({ drafter }), drafter };
        },
      },
      {
        name: `RAPID llama2xs, ${kind}`,
        strategy: () => {
          const drafter = rapidDrafter({
            ...rapidOptions,
            model: xs,
            scorer: kind === 'bm25' ? bm25ChunkScorer() : denseScorer,
          });
          return { strategy: speculative({ drafter }), drafter };
        },
      },
    ]),
    ...[undefined, 0, 0.1, 1].map(margin => ({
      name: `RAPID stories260K self, bm25, sampled drafts (T 1), ${margin === undefined ? 'exact verifier' : `transfer m = ${margin}`}`,
      temperatures: [1],
      strategy: () => {
        const drafter = rapidDrafter({ ...rapidOptions, temperature: 1 });
        return {
          strategy: speculative({
            drafter,
            verifier: margin === undefined ? undefined : rapidTransferVerifier({ margin }),
          }),
          drafter,
        };
      },
    })),
  ];
  // Mean NLL per generated token under the target on the full context (shows what a lossy verifier changes).
  async function targetNll(prompt: string, generated: number[]): Promise<number> {
    const ids = [...model.tokenizer.encode(prompt), ...generated];
    const sequence = model.createSequence();
    const { logits } = await sequence.forward({ tokens: Int32Array.from(ids) });
    sequence.dispose();
    const vocab = model.info.vocabSize;
    let nll = 0;
    for (let i = ids.length - generated.length; i < ids.length; i++) {
      const row = logits.subarray((i - 1) * vocab, i * vocab);
      let max = -Infinity;
      for (const value of row) max = Math.max(max, value);
      let sum = 0;
      for (const value of row) sum += Math.exp(value - max);
      nll += max + Math.log(sum) - row[ids[i]];
    }
    return nll / generated.length;
  }
  const rows: string[] = [];
  let reference: number[][] = [];
  for (const { name, strategy, temperatures = [0, 1] } of configurations) {
    for (const temperature of temperatures) {
      let tau = 0,
        accepted = 0,
        proposed = 0,
        decodeMs = 0,
        generated = 0,
        same = 0,
        rag = 0,
        nll = 0;
      const outputs: number[][] = [];
      for (let repeat = 0; repeat < 2; repeat++) {
        for (const [p, prompt] of prompts.entries()) {
          const built = strategy?.();
          const plain = createDecoder({ model, tokenizer: model.tokenizer });
          const decoder = built ? plain.use(built.strategy) : plain;
          const { stats, tokens } = await decoder.generate(prompt, {
            maxTokens: 128,
            temperature,
            seed: 11 + p,
          });
          if (repeat === 0) {
            outputs.push(tokens);
            continue;
          } // warm-up pass
          tau += stats.meanAcceptedTokens;
          decodeMs += stats.decodeMs;
          generated += stats.generatedTokens;
          accepted += stats.acceptedDraftTokens ?? 0;
          proposed += stats.draftTokens ?? 0;
          rag += built?.drafter?.ragPromptLength ?? 0;
          nll += await targetNll(prompt, tokens);
        }
      }
      if (!strategy && temperature === 0) reference = outputs;
      if (temperature === 0)
        same = outputs.filter((tokens, i) => tokens.join() === reference[i].join()).length;
      const n = prompts.length;
      rows.push(
        `| ${name} | ${temperature} | ${(tau / n).toFixed(2)} | ${proposed ? (accepted / proposed).toFixed(3) : '—'} | ${((generated / decodeMs) * 1000).toFixed(0)} | ${rag ? (rag / n).toFixed(0) : '—'} | ${(nll / n).toFixed(3)} | ${temperature === 0 ? `${same}/${n}` : '—'} |`,
      );
    }
  }
  const promptLengths = prompts.map(length);
  console.log(
    [
      `${prompts.length} prompts of ${Math.min(...promptLengths)}-${Math.max(...promptLengths)} tokens, 128 new tokens, RAPID: 32-token chunks, top 4, 64 recent, γ = 5`,
      '',
      '| strategy | T | τ | acceptance | tokens / s | draft prompt tokens | target NLL / token | = AR greedy |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
  await model.dispose();
  await xs.dispose();
});
