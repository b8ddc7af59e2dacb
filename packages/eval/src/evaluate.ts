import {
  InvalidArgumentError,
  logSoftmax,
  throwIfAborted,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import { distinctN, repetitionRate, selfBleu } from './metrics.js';

/** What a strategy returns for one prompt. */
export interface EvalGeneration {
  text: string;
  /** Generated ids (scored for perplexity; must be in the scoring model's vocabulary). */
  tokens: readonly number[];
  /** Prompt ids the continuation was generated after; default: the scoring model's tokenizer's encoding. */
  promptTokens?: readonly number[];
}

/** A strategy under evaluation. */
export interface EvalStrategy {
  name: string;
  generate(
    prompt: string,
    options: { maxTokens: number; signal?: AbortSignal },
  ): Promise<EvalGeneration>;
}

/** A prompt: text, or text with an id (as in bench/*.jsonl). */
export type EvalPrompt = string | { id: string; prompt: string };

/** Options of `evaluate`. */
export interface EvaluateOptions {
  strategies: readonly EvalStrategy[];
  prompts: readonly EvalPrompt[];
  /** The model whose perplexity is reported; its tokenizer encodes prompts when a strategy gives no ids. */
  scoringModel: CausalLM & { tokenizer?: Tokenizer };
  maxTokens: number;
  signal?: AbortSignal;
  /** Called after each generation (progress bars). */
  onProgress?(event: { strategy: string; promptId: string; done: number; total: number }): void;
}

/** One row of the summary table. */
export interface EvalSummaryRow {
  strategy: string;
  /** exp(total NLL / total generated tokens) of the continuations under the scoring model. */
  perplexity: number;
  distinct_1: number;
  distinct_2: number;
  distinct_3: number;
  /** Mean BLEU-4 of each continuation against the strategy's other continuations. */
  self_bleu: number;
  /** Mean seq-rep-4 (share of repeated 4-grams inside a continuation). */
  repetition_rate: number;
  /** Mean generated tokens per prompt. */
  mean_tokens: number;
  /** Wall-clock milliseconds per prompt (generation only). */
  ms_per_prompt: number;
}

/** The result of `evaluate`. */
export interface EvalResult {
  summary: EvalSummaryRow[];
  generations: {
    strategy: string;
    promptId: string;
    prompt: string;
    text: string;
    tokens: number[];
    nll: number;
  }[];
  scoringModel: string;
  maxTokens: number;
  prompts: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Negative log-likelihood (nats, summed) of `continuation` after `prompt` under `model`, from one chain
 * forward. Returns the sum and the number of scored tokens (tokens past the model's context are not scored).
 */
export async function continuationNll(
  model: CausalLM,
  prompt: readonly number[],
  continuation: readonly number[],
  signal?: AbortSignal,
): Promise<{ nll: number; tokens: number }> {
  if (continuation.length === 0) return { nll: 0, tokens: 0 };
  if (prompt.length === 0)
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: 'perplexity needs at least one prompt token (e.g. BOS).',
    });
  const all = [...prompt, ...continuation].slice(0, model.info.contextLength);
  const vocab = model.info.vocabSize;
  const sequence = model.createSequence();
  try {
    const { logits } = await sequence.forward(
      { tokens: Int32Array.from(all.slice(0, -1)) },
      { signal },
    );
    let nll = 0;
    let tokens = 0;
    for (let position = prompt.length; position < all.length; position++) {
      const row = logSoftmax(logits.slice((position - 1) * vocab, position * vocab));
      nll -= row[all[position]];
      tokens += 1;
    }
    return { nll, tokens };
  } finally {
    sequence.dispose();
  }
}

/**
 * Generates a continuation of every prompt with every strategy and reports, per strategy: perplexity
 * under `scoringModel`, distinct-1/2/3, self-BLEU and repetition rate (the metrics of the hyperfitting
 * paper's open-ended generation study; definitions in metrics.ts and the README).
 */
export async function evaluate(options: EvaluateOptions): Promise<EvalResult> {
  const { strategies, prompts, scoringModel, maxTokens, signal } = options;
  if (strategies.length === 0)
    throw new InvalidArgumentError({
      argument: 'strategies',
      message: 'give at least one strategy.',
    });
  if (prompts.length === 0)
    throw new InvalidArgumentError({ argument: 'prompts', message: 'give at least one prompt.' });
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new InvalidArgumentError({
      argument: 'maxTokens',
      message: `must be a positive integer, got ${maxTokens}.`,
    });
  const names = new Set<string>();
  for (const strategy of strategies) {
    if (names.has(strategy.name))
      throw new InvalidArgumentError({
        argument: 'strategies',
        message: `two strategies are named "${strategy.name}".`,
      });
    names.add(strategy.name);
  }
  const entries = prompts.map((entry, index) =>
    typeof entry === 'string' ? { id: `prompt-${index}`, prompt: entry } : entry,
  );
  const generations: EvalResult['generations'] = [];
  const summary: EvalSummaryRow[] = [];
  const total = strategies.length * entries.length;
  for (const strategy of strategies) {
    let nll = 0;
    let scored = 0;
    let generatedTokens = 0;
    let milliseconds = 0;
    const texts: string[] = [];
    for (const entry of entries) {
      throwIfAborted(signal);
      const start = now();
      const generation = await strategy.generate(entry.prompt, { maxTokens, signal });
      milliseconds += now() - start;
      const promptTokens = generation.promptTokens ?? scoringModel.tokenizer?.encode(entry.prompt);
      if (!promptTokens) {
        throw new InvalidArgumentError({
          argument: 'scoringModel',
          message: 'needs a tokenizer, or strategies must return promptTokens.',
        });
      }
      const score = await continuationNll(scoringModel, promptTokens, generation.tokens, signal);
      nll += score.nll;
      scored += score.tokens;
      generatedTokens += generation.tokens.length;
      texts.push(generation.text);
      generations.push({
        strategy: strategy.name,
        promptId: entry.id,
        prompt: entry.prompt,
        text: generation.text,
        tokens: [...generation.tokens],
        nll: score.nll,
      });
      options.onProgress?.({
        strategy: strategy.name,
        promptId: entry.id,
        done: generations.length,
        total,
      });
    }
    summary.push({
      strategy: strategy.name,
      perplexity: scored > 0 ? Math.exp(nll / scored) : Number.NaN,
      distinct_1: distinctN(texts, 1),
      distinct_2: distinctN(texts, 2),
      distinct_3: distinctN(texts, 3),
      self_bleu: selfBleu(texts),
      repetition_rate: repetitionRate(texts),
      mean_tokens: generatedTokens / entries.length,
      ms_per_prompt: milliseconds / entries.length,
    });
  }
  return {
    summary,
    generations,
    scoringModel: scoringModel.info.name,
    maxTokens,
    prompts: entries.length,
  };
}

/** The summary as a Markdown table (numbers rounded for reading; eval.json keeps them exact). */
export function formatEvalTable(result: EvalResult): string {
  const header =
    '| strategy | perplexity ↓ | distinct-1 ↑ | distinct-2 ↑ | distinct-3 ↑ | self-BLEU ↓ | repetition rate ↓ | tokens | ms / prompt |';
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = result.summary.map(
    row =>
      `| ${row.strategy} | ${row.perplexity.toFixed(2)} | ${row.distinct_1.toFixed(3)} | ${row.distinct_2.toFixed(3)} | ${row.distinct_3.toFixed(3)} | ${row.self_bleu.toFixed(3)} | ${row.repetition_rate.toFixed(3)} | ${row.mean_tokens.toFixed(1)} | ${row.ms_per_prompt.toFixed(0)} |`,
  );
  return [header, rule, ...rows].join('\n');
}

/**
 * Writes `eval.json` (the whole result) and `eval.md` (the summary table and the metric definitions) into
 * `outDir`, creating it. Node only.
 */
export async function writeEvalReports(
  result: EvalResult,
  outDir: string,
): Promise<{ json: string; markdown: string }> {
  return writeJsonAndMarkdown(outDir, result, [
    '# decodekit eval',
    '',
    `${result.prompts} prompts, up to ${result.maxTokens} tokens each; perplexity under ${result.scoringModel}.`,
    '',
    formatEvalTable(result),
    '',
    'perplexity: exp(mean NLL of the generated tokens given the prompt) under the scoring model. distinct-n: distinct',
    'word n-grams / all word n-grams over the set. self-BLEU: mean BLEU-4 (NLTK method1 smoothing) of each',
    "continuation against the strategy's others. repetition rate: mean seq-rep-4 (repeated 4-grams inside a",
    'continuation). Words are lower-cased letter/digit runs and punctuation marks.',
    '',
  ]);
}

/** Writes `eval.json` (`result`) and `eval.md` (`lines`) into `outDir`, creating it. Node only. */
export async function writeJsonAndMarkdown(
  outDir: string,
  result: unknown,
  lines: readonly string[],
): Promise<{ json: string; markdown: string }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'eval.json');
  const markdown = join(outDir, 'eval.md');
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(markdown, lines.join('\n'));
  return { json, markdown };
}
