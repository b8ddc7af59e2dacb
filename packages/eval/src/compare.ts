import {
  createDecoder,
  InvalidArgumentError,
  throwIfAborted,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import { continuationNll, writeJsonAndMarkdown } from './evaluate.js';
import type { KickQuestion } from './kick-questions.js';

/** A model under comparison: the dense model or one of its compressed variants. */
export interface CompareModel {
  /** Row label (e.g. `dense`, `q8`, `kv-heads 2`, `magnitude:0.5`). */
  readonly name: string;
  readonly model: CausalLM;
  /** Must tokenize like the dense model's (the variants share its vocabulary). */
  readonly tokenizer: Tokenizer;
}

/** What a judge sees: one extraction answer of one model, next to the dense model's answer. */
export interface CompareJudgeInput {
  readonly model: string;
  readonly question: KickQuestion;
  /** The model's greedy answer, cut at the first sentence mark. */
  readonly output: string;
  /** The dense model's answer to the same question. */
  readonly denseOutput: string;
}

/**
 * A judge hook (LLM-KICK grades free-form answers with GPT-4): a score in [0, 1] for one answer, e.g. from
 * a larger model or a human label file. Its mean is the `judge` column.
 */
export type CompareJudge = (input: CompareJudgeInput) => number | Promise<number>;

/** Options of {@link compareModels}. */
export interface CompareOptions {
  readonly dense: CompareModel;
  readonly variants: readonly CompareModel[];
  /** Texts scored whole for perplexity (BOS prepended by the tokenizer). */
  readonly texts: readonly string[];
  /** Prompts every model continues greedily; agreement is measured against the dense continuation. */
  readonly prompts: readonly string[];
  /** Tokens of each greedy continuation (default 64). */
  readonly maxTokens?: number;
  /** Extraction questions (multiple choice and exact match), e.g. from `buildKickQuestions`. */
  readonly questions: readonly KickQuestion[];
  /** Most tokens of a free-form answer (default 8). */
  readonly answerTokens?: number;
  readonly judge?: CompareJudge;
  readonly signal?: AbortSignal;
  /** Called after each model (progress). */
  onProgress?(event: { model: string; done: number; total: number }): void;
}

/** One model's scores (the dense model's row included, first). */
export interface CompareRow {
  readonly model: string;
  /** exp(mean NLL per token) over `texts`. */
  readonly perplexity: number;
  /** Σ tokens before the first divergence from the dense greedy continuation / Σ dense tokens. 1 for dense. */
  readonly greedy_agreement: number;
  /**
   * Teacher-forced: share of the dense greedy continuations' tokens that are also this model's argmax given
   * the same prefix (no compounding after a first divergence). 1 for dense.
   */
  readonly top1_agreement: number;
  /** Share of questions whose highest summed log-probability choice is the answer. */
  readonly mc_accuracy: number;
  /** Share of questions whose greedy answer equals the answer after normalization. */
  readonly exact_match: number;
  /** Mean judge score, when a judge is given. */
  readonly judge?: number;
}

/** The result of {@link compareModels}. */
export interface CompareResult {
  readonly rows: readonly CompareRow[];
  /** Per model and question: the chosen choice, the free-form answer and its scores. */
  readonly answers: readonly {
    model: string;
    question: string;
    choice: string;
    output: string;
    exact: boolean;
    judge?: number;
  }[];
  readonly texts: number;
  readonly prompts: number;
  readonly questions: number;
  readonly maxTokens: number;
}

/**
 * SQuAD-style normalization of a free-form answer: cut at the first sentence mark or newline, lower-case,
 * drop punctuation and the articles a/an/the, collapse whitespace.
 */
export function normalizeAnswer(text: string): string {
  const first = text.split(/[.!?\n;:]/)[0];
  return first
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(word => word.length > 0 && !['a', 'an', 'the'].includes(word))
    .join(' ');
}

/** The ids of `continuation` after `prompt`, as the tokenizer splits the whole text. */
function splitContinuation(
  tokenizer: Tokenizer,
  prompt: string,
  continuation: string,
): { prompt: number[]; continuation: number[] } {
  const promptIds = tokenizer.encode(prompt);
  const whole = tokenizer.encode(`${prompt}${continuation}`);
  const shared = promptIds.every((id, index) => whole[index] === id);
  if (shared && whole.length > promptIds.length) {
    return { prompt: promptIds, continuation: whole.slice(promptIds.length) };
  }
  // The boundary merged across the prompt's end: score the continuation's own pieces after the prompt.
  return {
    prompt: promptIds,
    continuation: tokenizer.encode(continuation, { addSpecialTokens: false }),
  };
}

/** How many of `continuation`'s tokens are `model`'s argmax after `prompt` and the tokens before them. */
async function argmaxMatches(
  model: CausalLM,
  prompt: readonly number[],
  continuation: readonly number[],
  signal?: AbortSignal,
): Promise<number> {
  const all = [...prompt, ...continuation].slice(0, model.info.contextLength);
  if (all.length <= prompt.length) return 0;
  const vocab = model.info.vocabSize;
  const sequence = model.createSequence();
  try {
    const { logits } = await sequence.forward(
      { tokens: Int32Array.from(all.slice(0, -1)) },
      { signal },
    );
    let matches = 0;
    for (let position = prompt.length; position < all.length; position++) {
      const row = logits.subarray((position - 1) * vocab, position * vocab);
      let best = 0;
      for (let token = 1; token < vocab; token++) if (row[token] > row[best]) best = token;
      if (best === all[position]) matches += 1;
    }
    return matches;
  } finally {
    sequence.dispose();
  }
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Compares a dense model with its compressed variants the way LLM-KICK (Jaiswal et al., 2023,
 * https://arxiv.org/abs/2310.01382) argues they must be compared — not by perplexity alone: perplexity on
 * `texts`, greedy agreement with the dense model on `prompts`, multiple-choice accuracy by summed
 * log-probability of each choice after the question, exact match of the greedy answer, and an optional judge.
 * Comparing the dense model with itself gives identical rows.
 *
 * @throws InvalidArgumentError on empty inputs or duplicate model names
 */
export async function compareModels(options: CompareOptions): Promise<CompareResult> {
  const { dense, variants, texts, prompts, questions, judge, signal } = options;
  const maxTokens = options.maxTokens ?? 64;
  const answerTokens = options.answerTokens ?? 8;
  for (const [argument, value] of [
    ['maxTokens', maxTokens],
    ['answerTokens', answerTokens],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${value}.`,
      });
    }
  }
  if (texts.length === 0 && prompts.length === 0 && questions.length === 0) {
    throw new InvalidArgumentError({
      argument: 'texts',
      message: 'give texts, prompts or questions to compare on.',
    });
  }
  const models = [dense, ...variants];
  const names = new Set<string>();
  for (const entry of models) {
    if (names.has(entry.name)) {
      throw new InvalidArgumentError({
        argument: 'variants',
        message: `two models are named "${entry.name}"; give each variant its own name.`,
      });
    }
    names.add(entry.name);
  }

  const greedy = async (entry: CompareModel, prompt: string, tokens: number, stop?: string[]) => {
    const decoder = createDecoder({ model: entry.model, tokenizer: entry.tokenizer });
    return decoder.generate(prompt, { maxTokens: tokens, temperature: 0, signal, stop });
  };

  const denseContinuations: { prompt: number[]; tokens: number[] }[] = [];
  const denseAnswers: string[] = [];
  const rows: CompareRow[] = [];
  const answers: CompareResult['answers'][number][] = [];
  for (const [index, entry] of models.entries()) {
    throwIfAborted(signal);
    let nll = 0;
    let scored = 0;
    for (const text of texts) {
      const ids = entry.tokenizer.encode(text);
      const score = await continuationNll(entry.model, ids.slice(0, 1), ids.slice(1), signal);
      nll += score.nll;
      scored += score.tokens;
    }

    let agreed = 0;
    let forcedAgreed = 0;
    let denseTotal = 0;
    for (const [promptIndex, prompt] of prompts.entries()) {
      const { tokens, promptTokens } = await greedy(entry, prompt, maxTokens);
      if (index === 0) denseContinuations.push({ prompt: promptTokens, tokens });
      const reference = denseContinuations[promptIndex];
      let prefix = 0;
      while (prefix < reference.tokens.length && tokens[prefix] === reference.tokens[prefix])
        prefix += 1;
      agreed += prefix;
      forcedAgreed += await argmaxMatches(entry.model, reference.prompt, reference.tokens, signal);
      denseTotal += reference.tokens.length;
    }

    let correct = 0;
    let exact = 0;
    const judged: number[] = [];
    for (const [questionIndex, question] of questions.entries()) {
      let best = -Infinity;
      let chosen = '';
      for (const choice of question.choices) {
        const split = splitContinuation(entry.tokenizer, question.prompt, ` ${choice}`);
        const { nll: choiceNll } = await continuationNll(
          entry.model,
          split.prompt,
          split.continuation,
          signal,
        );
        if (-choiceNll > best) {
          best = -choiceNll;
          chosen = choice;
        }
      }
      if (chosen === question.answer) correct += 1;
      const { text } = await greedy(entry, question.prompt, answerTokens, ['\n']);
      const output = text.split(/[.!?\n]/)[0].trim();
      if (index === 0) denseAnswers.push(output);
      const isExact = normalizeAnswer(output) === normalizeAnswer(question.answer);
      if (isExact) exact += 1;
      const score = judge
        ? await judge({
            model: entry.name,
            question,
            output,
            denseOutput: denseAnswers[questionIndex],
          })
        : undefined;
      if (score !== undefined) {
        if (!(score >= 0 && score <= 1)) {
          throw new InvalidArgumentError({
            argument: 'judge',
            message: `must return a score in [0, 1], got ${score} for ${question.id}.`,
          });
        }
        judged.push(score);
      }
      answers.push({
        model: entry.name,
        question: question.id,
        choice: chosen,
        output,
        exact: isExact,
        ...(score !== undefined ? { judge: score } : {}),
      });
    }
    rows.push({
      model: entry.name,
      perplexity: scored > 0 ? Math.exp(nll / scored) : Number.NaN,
      greedy_agreement: denseTotal > 0 ? agreed / denseTotal : Number.NaN,
      top1_agreement: denseTotal > 0 ? forcedAgreed / denseTotal : Number.NaN,
      mc_accuracy: questions.length > 0 ? correct / questions.length : Number.NaN,
      exact_match: questions.length > 0 ? exact / questions.length : Number.NaN,
      ...(judge ? { judge: mean(judged) } : {}),
    });
    options.onProgress?.({ model: entry.name, done: index + 1, total: models.length });
  }
  return {
    rows,
    answers,
    texts: texts.length,
    prompts: prompts.length,
    questions: questions.length,
    maxTokens,
  };
}

/** The comparison as a Markdown table, one row per model (eval.json keeps the exact numbers). */
export function formatCompareTable(result: CompareResult): string {
  const withJudge = result.rows.some(row => row.judge !== undefined);
  const header = `| model | perplexity ↓ | greedy agreement ↑ | top-1 agreement ↑ | MC accuracy ↑ | exact match ↑ |${withJudge ? ' judge ↑ |' : ''}`;
  const rule = `|---|---:|---:|---:|---:|---:|${withJudge ? '---:|' : ''}`;
  const cell = (value: number, digits: number) =>
    Number.isNaN(value) ? '–' : value.toFixed(digits);
  const rows = result.rows.map(
    row =>
      `| ${row.model} | ${cell(row.perplexity, 3)} | ${cell(row.greedy_agreement, 3)} | ${cell(row.top1_agreement, 3)} | ${cell(row.mc_accuracy, 3)} | ${cell(row.exact_match, 3)} |${withJudge ? ` ${cell(row.judge ?? Number.NaN, 3)} |` : ''}`,
  );
  return [header, rule, ...rows].join('\n');
}

/**
 * Writes `eval.json` (everything) and `eval.md` (the table, one row per variant, and the definitions) into
 * `outDir`, creating it. Node only.
 */
export async function writeCompareReports(
  result: CompareResult,
  outDir: string,
): Promise<{ json: string; markdown: string }> {
  return writeJsonAndMarkdown(outDir, result, [
    '# decodekit eval --compare',
    '',
    `${result.texts} texts (perplexity), ${result.prompts} prompts × ${result.maxTokens} greedy tokens (agreement), ${result.questions} extraction questions (multiple choice, exact match).`,
    '',
    formatCompareTable(result),
    '',
    'perplexity: exp(mean NLL per token) of the texts. greedy agreement: tokens before the first divergence',
    "from the dense model's greedy continuation / its tokens. top-1 agreement: share of the dense",
    "continuation's tokens that are the model's argmax given the same prefix (teacher-forced). MC accuracy:",
    'the choice with the highest summed log-probability after the question is the answer. exact match: the',
    'greedy answer, cut at the first sentence mark, lower-cased, without punctuation and articles, equals the',
    'answer. judge: mean score of the judge hook in [0, 1].',
    '',
  ]);
}
