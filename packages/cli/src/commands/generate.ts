import {
  InvalidArgumentError,
  resolveGenerateOptions,
  type GenerateOptions,
} from '@decodekit/core';
import type { Command } from 'commander';
import { DEFAULT_MODEL, DTYPE_HELP, loadForCli } from '../load.js';
import { strategyHelp, buildSetup, decoderFor } from '../strategies.js';
import { constraintFromCli, type JsonSchema } from '@decodekit/strategy-constrained';
import { collect, number } from './option-parsers.js';
import { readUserJson, readUserText } from '../user-files.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Generate text from a prompt, streaming it to stdout.')
    .addHelpText('after', strategyHelp)
    .option(
      '--model <ref>',
      'model folder, hub id (org/name[@revision]) or llama2.c folder',
      DEFAULT_MODEL,
    )
    .option('--dtype <dtype>', DTYPE_HELP)
    .option('--offline', 'never download (also HF_HUB_OFFLINE=1 or DECODEKIT_OFFLINE=1)')
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option('--prompt <text>', 'prompt text')
    .option('--prompt-file <file>', 'read the prompt from a file')
    .option('--max-tokens <n>', 'most tokens to generate', number('--max-tokens'), 256)
    .option('--temperature <t>', '0 = greedy', number('--temperature'), 0)
    .option('--top-k <k>', 'top-k sampling', number('--top-k'))
    .option('--top-p <p>', 'nucleus sampling', number('--top-p'))
    .option('--min-p <p>', 'min-p sampling', number('--min-p'))
    .option(
      '--repetition-penalty <r>',
      'repetition penalty (1 = off)',
      number('--repetition-penalty'),
    )
    .option(
      '--ban-repeated-ngrams <n>',
      'ban repeating any n-gram of this size (no_repeat_ngram_size)',
      number('--ban-repeated-ngrams'),
    )
    .option('--seed <s>', 'sampling seed', number('--seed'), 0)
    .option('--stop <text>', 'stop string (repeatable)', collect, [])
    .option('--strategy <spec>', 'NAME[:key=value,...], e.g. token-recycling:budget=32', 'ar')
    .option('--draft-model <ref>', 'draft model for the draft-model strategy')
    .option('--json-schema <file>', 'constrain the output to a JSON Schema')
    .option('--regex <pattern>', 'constrain the output to a regular expression')
    .option(
      '--grammar <file>',
      'constrain the output to a grammar (GBNF-like, see @decodekit/strategy-constrained)',
    )
    .option(
      '--format <format>',
      'text | json (json adds the ranked hypotheses of search strategies)',
      'text',
    )
    .action(async options => {
      if (options.prompt !== undefined && options.promptFile !== undefined) {
        throw new InvalidArgumentError({
          argument: '--prompt',
          message: 'give --prompt or --prompt-file, not both.',
        });
      }
      if (!['text', 'json'].includes(options.format)) {
        throw new InvalidArgumentError({
          argument: '--format',
          message: `use text or json, got "${options.format}".`,
        });
      }
      const prompt: string =
        options.promptFile !== undefined
          ? readUserText(options.promptFile, '--prompt-file')
          : (options.prompt ?? '');
      const model = await loadForCli(options.model, options.backend, {
        dtype: options.dtype,
        offline: options.offline,
      });
      const cleanup: (() => Promise<void>)[] = [];
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort('interrupted'));
      try {
        const loaded: (typeof model)[] = [];
        cleanup.push(async () => {
          for (const extra of loaded) await extra.dispose();
        });
        const setup = await buildSetup(options.strategy, {
          model,
          draftModel: options.draftModel,
          backend: options.backend,
          loaded,
        });
        const constraints =
          options.jsonSchema !== undefined ||
          options.regex !== undefined ||
          options.grammar !== undefined
            ? [
                constraintFromCli({
                  jsonSchema:
                    options.jsonSchema !== undefined
                      ? (readUserJson(options.jsonSchema, '--json-schema') as JsonSchema)
                      : undefined,
                  regex: options.regex,
                  grammar:
                    options.grammar !== undefined
                      ? readUserText(options.grammar, '--grammar')
                      : undefined,
                  tokenizer: model.tokenizer,
                  maxTokens: options.maxTokens,
                }),
              ]
            : [];
        const decoder = decoderFor(setup, model, constraints);
        const generateOptions: GenerateOptions = {
          maxTokens: options.maxTokens,
          temperature: options.temperature,
          topK: options.topK,
          topP: options.topP,
          minP: options.minP,
          repetitionPenalty: options.repetitionPenalty,
          noRepeatNgramSize: options.banRepeatedNgrams,
          seed: options.seed,
          stop: options.stop,
          signal: controller.signal,
        };
        resolveGenerateOptions(generateOptions); // fail on bad options before printing anything
        // An encoder-decoder model's output does not continue its prompt (the source): it is printed alone.
        const echo = model.encoderDecoder === undefined ? prompt : '';
        if (options.format === 'json') {
          // search() is generate() plus the ranked hypotheses of search strategies (one otherwise).
          const result = await decoder.search(prompt, generateOptions);
          const hypotheses = result.hypotheses.map(({ text, tokens, score, logProbability }) => ({
            completion: text,
            tokens,
            score: Number.isNaN(score) ? null : score,
            ...(logProbability === undefined ? {} : { logProbability }),
          }));
          process.stdout.write(
            `${JSON.stringify({ text: echo + result.text, completion: result.text, tokens: result.tokens, reason: result.reason, stats: result.stats, hypotheses })}\n`,
          );
          return;
        }
        process.stdout.write(echo);
        for await (const event of decoder.stream(prompt, generateOptions)) {
          if (event.type === 'token') process.stdout.write(event.text);
          if (event.type === 'warning')
            process.stderr.write(`decodekit: warning: ${event.message}\n`);
          if (event.type === 'done') {
            process.stdout.write('\n');
            const { stats } = event;
            process.stderr.write(
              `[${event.reason}] ${stats.generatedTokens} tokens, ${stats.tokensPerSecond.toFixed(0)} tok/s, ` +
                `${stats.forwardPasses} forward passes, τ ${stats.meanAcceptedTokens.toFixed(2)}` +
                (stats.encoderCalls === undefined ? '' : `, ${stats.encoderCalls} encoder run`) +
                '\n',
            );
          }
        }
      } finally {
        for (const step of cleanup) await step();
        await model.dispose();
      }
    });
}
