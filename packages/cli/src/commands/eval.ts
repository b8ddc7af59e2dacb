import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  buildKickQuestions,
  compareModels,
  evaluate,
  formatCompareTable,
  formatEvalTable,
  writeCompareReports,
  writeEvalReports,
  type CompareModel,
  type EvalStrategy,
} from '@decodekit/eval';
import { readPromptSet } from '@decodekit/bench';
import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import { GRAPH_DTYPES, type GraphDtype, parsePruneSpec } from '@decodekit/models';
import { convertLlama2cToFolder } from '@decodekit/models/node';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { buildSetup, decoderFor } from '../strategies.js';
import { llama2cInputs } from './convert.js';
import { collect, number } from './option-parsers.js';

/** The converter variants `--variants` accepts by default: every one LLM-KICK-style comparison needs. */
export const DEFAULT_COMPARE_VARIANTS = 'fp16,q8,q4,kv-heads:2,kv-heads:1,magnitude:0.5,2:4';

/** What the converter does for one `--variants` entry. */
interface VariantPlan {
  readonly name: string;
  readonly dtype?: GraphDtype;
  readonly kvHeads?: number;
  readonly prune?: string;
}

/** Parses one `--variants` entry: a dtype, `kv-heads:N`, `magnitude:S` or `N:M`. */
function parseVariant(spec: string): VariantPlan {
  if ((GRAPH_DTYPES as readonly string[]).includes(spec) && spec !== 'fp32') {
    return { name: spec, dtype: spec as GraphDtype };
  }
  const kv = /^kv-heads:(\d+)$/.exec(spec);
  if (kv) return { name: spec, kvHeads: Number(kv[1]) };
  try {
    parsePruneSpec(spec);
    return { name: spec, prune: spec };
  } catch {
    throw new InvalidArgumentError({
      argument: '--variants',
      message: `unknown variant "${spec}"; use ${GRAPH_DTYPES.filter(dtype => dtype !== 'fp32').join(', ')}, kv-heads:N, magnitude:S or N:M (e.g. ${DEFAULT_COMPARE_VARIANTS}).`,
    });
  }
}

/** Parses `--variant-model name=folder`. */
function parseVariantModel(spec: string): { name: string; ref: string } {
  const at = spec.indexOf('=');
  if (at <= 0 || at === spec.length - 1) {
    throw new InvalidArgumentError({
      argument: '--variant-model',
      message: `expected NAME=MODEL (e.g. gptq=models/my-q4), got "${spec}".`,
    });
  }
  return { name: spec.slice(0, at), ref: spec.slice(at + 1) };
}

interface CompareCliOptions {
  model?: string;
  backend: string;
  variants: string;
  variantModel: string[];
  stories: string[];
  prompts: string[];
  maxTokens: number;
  limit?: number;
  answerTokens: number;
  seed: number;
  out: string;
}

/** `decodekit eval --compare`: the dense model against its compressed variants (LLM-KICK style). */
async function runCompare(options: CompareCliOptions): Promise<void> {
  const plans = String(options.variants)
    .split(',')
    .map(spec => spec.trim())
    .filter(Boolean)
    .map(parseVariant);
  const extra = options.variantModel.map(parseVariantModel);
  const storyFiles =
    options.stories.length > 0 ? options.stories : ['bench/stories.jsonl', 'bench/grounded.jsonl'];
  const stories = (await Promise.all(storyFiles.map(file => readPromptSet(resolve(file)))))
    .flat()
    .map(entry => ({ id: entry.id, text: String(entry.prompt) }));
  const promptFiles = options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
  let prompts = (await Promise.all(promptFiles.map(file => readPromptSet(resolve(file)))))
    .flat()
    .map(entry => String(entry.prompt));
  let questions = buildKickQuestions(stories, { seed: options.seed });
  let texts = stories.map(story => story.text.split(/\n\s*\n/)[0]);
  if (options.limit !== undefined) {
    prompts = prompts.slice(0, options.limit);
    questions = questions.slice(0, options.limit);
    texts = texts.slice(0, options.limit);
  }
  const ref = options.model ?? DEFAULT_MODEL;
  const inputs =
    plans.length > 0
      ? await llama2cInputs(ref, undefined).catch((cause: unknown) => {
          throw new InvalidArgumentError({
            argument: '--variants',
            message: `converter variants need a llama2.c model (a known id, .bin or folder): ${cause instanceof Error ? cause.message : String(cause)} For other models pass --variants "" with --variant-model NAME=MODEL.`,
          });
        })
      : undefined;
  const work = mkdtempSync(join(tmpdir(), 'decodekit-compare-'));
  const loaded: LoadedModel[] = [];
  try {
    const dense = await loadForCli(ref, options.backend);
    loaded.push(dense);
    const variants: CompareModel[] = [];
    for (const plan of plans) {
      if (!inputs) break;
      const folder = join(work, plan.name.replace(/[^a-z0-9.-]/gi, '_'));
      process.stderr.write(`converting ${plan.name}\n`);
      await convertLlama2cToFolder(inputs.checkpoint, inputs.tokenizer, folder, {
        dtype: plan.dtype,
        kvHeads: plan.kvHeads,
        prune: plan.prune,
      });
      const model = await loadForCli(folder, options.backend);
      loaded.push(model);
      variants.push({ name: plan.name, model, tokenizer: model.tokenizer });
    }
    for (const { name, ref: variantRef } of extra) {
      const model = await loadForCli(variantRef, options.backend);
      loaded.push(model);
      variants.push({ name, model, tokenizer: model.tokenizer });
    }
    const result = await compareModels({
      dense: { name: 'dense', model: dense, tokenizer: dense.tokenizer },
      variants,
      texts,
      prompts,
      maxTokens: options.maxTokens,
      questions,
      answerTokens: options.answerTokens,
      onProgress: ({ model, done, total }) =>
        process.stderr.write(`compared ${model} (${done}/${total})\n`),
    });
    const written = await writeCompareReports(result, options.out);
    process.stdout.write(`${formatCompareTable(result)}\n`);
    process.stdout.write(`wrote ${Object.values(written).join(', ')}\n`);
  } finally {
    for (const model of loaded) await model.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

/** `decodekit eval`: quality and diversity metrics of strategies on a prompt set. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'Report perplexity, distinct-n, self-BLEU and repetition rate of strategies on a prompt set.',
    )
    .option('--model <ref>', 'model that generates and scores', DEFAULT_MODEL)
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option(
      '--strategies <list>',
      'comma-separated strategy specs (options separated by ;)',
      'greedy,beam-search,momentum-decoding',
    )
    .option('--prompts <file>', 'JSONL prompt set (repeatable)', collect, [])
    .option('--max-tokens <n>', 'tokens per continuation', number('--max-tokens'), 64)
    .option('--limit <n>', 'use the first N prompts', number('--limit'))
    .option('--draft-model <ref>', 'second model (contrastive decoding’s amateur)')
    .option('--out <dir>', 'report folder', '.bench/eval')
    .option(
      '--compare',
      'compare the model with its compressed variants instead (perplexity, greedy agreement, multiple choice, exact match)',
      false,
    )
    .option(
      '--variants <list>',
      'with --compare: converter variants of the model (dtype, kv-heads:N, magnitude:S, N:M)',
      DEFAULT_COMPARE_VARIANTS,
    )
    .option(
      '--variant-model <name=model>',
      'with --compare: another variant, already made (repeatable)',
      collect,
      [],
    )
    .option(
      '--stories <file>',
      'with --compare: JSONL stories for perplexity and the extraction questions (repeatable; default bench/stories.jsonl and bench/grounded.jsonl)',
      collect,
      [],
    )
    .option(
      '--answer-tokens <n>',
      'with --compare: tokens of a free-form answer',
      number('--answer-tokens'),
      8,
    )
    .option('--seed <n>', 'with --compare: seed of the questions’ distractors', number('--seed'), 0)
    .action(async options => {
      if (options.compare) {
        await runCompare({ ...options, maxTokens: options.maxTokens });
        return;
      }
      const files: string[] =
        options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
      let prompts = (await Promise.all(files.map(file => readPromptSet(resolve(file))))).flat();
      if (options.limit !== undefined) prompts = prompts.slice(0, options.limit);
      const model = await loadForCli(options.model, options.backend);
      const loaded: LoadedModel[] = [];
      try {
        const strategies: EvalStrategy[] = [];
        for (const spec of String(options.strategies)
          .split(',')
          .map(s => s.trim())
          .filter(Boolean)) {
          const setup = await buildSetup(spec.replaceAll(';', ','), {
            model,
            draftModel: options.draftModel,
            backend: options.backend,
            loaded,
          });
          const decoder = decoderFor(setup, model);
          strategies.push({
            name: spec,
            async generate(prompt, { maxTokens, signal }) {
              const result = await decoder.generate(prompt, { maxTokens, temperature: 0, signal });
              return {
                text: result.text,
                tokens: result.tokens,
                promptTokens: result.promptTokens,
              };
            },
          });
        }
        const result = await evaluate({
          strategies,
          prompts: prompts.map(entry => ({ id: entry.id, prompt: String(entry.prompt) })),
          scoringModel: model,
          maxTokens: options.maxTokens,
          onProgress: ({ strategy, done, total }) => {
            if (done % 10 === 0 || done === total)
              process.stderr.write(`${strategy} ${done}/${total}\n`);
          },
        });
        const written = await writeEvalReports(result, options.out);
        process.stdout.write(`${formatEvalTable(result)}\n`);
        process.stdout.write(`wrote ${Object.values(written).join(', ')}\n`);
      } finally {
        for (const extra of loaded) await extra.dispose();
        await model.dispose();
      }
    });
}
