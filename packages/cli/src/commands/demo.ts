import { invariant, createDecoder, speculative, type GenerateResult } from '@decodekit/core';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';

const PROMPT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw ' +
  'a big, red ball. She wanted to play with it, but it was too high.\n\nOnce upon a time, there was a little girl named Lily.';

/** `decodekit demo`: autoregressive decoding and speculative strategies side by side on one prompt. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Generate with AR and with speculative strategies side by side: identical text, speedup and τ.',
    )
    .option('--model <ref>', 'model', DEFAULT_MODEL)
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .action(async options => {
      const model = await loadForCli(options.model, options.backend);
      try {
        const contenders = [
          { name: 'autoregressive', decoder: createDecoder({ model }) },
          {
            name: 'prompt-lookup',
            decoder: createDecoder({ model }).use(speculative({ drafter: promptLookup() })),
          },
          {
            name: 'token-recycling',
            decoder: createDecoder({ model }).use(speculative({ drafter: tokenRecycling() })),
          },
        ];
        const runs = new Map<string, GenerateResult[]>();
        // Interleaved repeats after a warm-up, so machine noise hits every contender alike.
        for (let round = 0; round < 6; round++) {
          for (const { name, decoder } of contenders) {
            const result = await decoder.generate(PROMPT, { maxTokens: 128, temperature: 0 });
            if (round > 0) runs.set(name, [...(runs.get(name) ?? []), result]);
          }
        }
        const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
        const resultsOf = (name: string): GenerateResult[] => {
          const results = runs.get(name);
          invariant(results !== undefined, `every contender ran (${name})`);
          return results;
        };
        const baseline = resultsOf('autoregressive');
        const baselineMs = median(baseline.map(run => run.stats.decodeMs));
        process.stdout.write(`Prompt: ${JSON.stringify(PROMPT)}\n\n${baseline[0].text.trim()}\n\n`);
        for (const { name } of contenders) {
          const results = resultsOf(name);
          const identical = results.every(run => run.tokens.join() === baseline[0].tokens.join());
          const ms = median(results.map(run => run.stats.decodeMs));
          process.stdout.write(
            `${name.padEnd(16)} ${String(results[0].tokens.length).padStart(4)} tokens  ` +
              `${(results[0].tokens.length / (ms / 1000)).toFixed(0).padStart(6)} tok/s  ` +
              `speedup ${(baselineMs / ms).toFixed(2)}×  τ ${results[0].stats.meanAcceptedTokens.toFixed(2)}  ` +
              `${identical ? 'identical to AR' : 'DIFFERS FROM AR'}\n`,
          );
        }
      } finally {
        await model.dispose();
      }
    });
}
