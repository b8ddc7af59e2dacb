import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@decodekit/core';
import type { BenchPrompt } from './run-bench.js';

/**
 * Parses a prompt set in JSON Lines (`bench/*.jsonl`): one `{ "id", "prompt", "max_tokens"? }` object per
 * line; blank lines are skipped. `source` names the file in errors.
 */
export function parsePromptSet(text: string, source = 'prompt set'): BenchPrompt[] {
  const prompts: BenchPrompt[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let entry: { id?: unknown; prompt?: unknown; max_tokens?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      throw new InvalidArgumentError({
        argument: 'prompts',
        message: `${source}:${index + 1} is not valid JSON.`,
      });
    }
    if (typeof entry.id !== 'string' || typeof entry.prompt !== 'string') {
      throw new InvalidArgumentError({
        argument: 'prompts',
        message: `${source}:${index + 1} needs a string "id" and "prompt".`,
      });
    }
    if (
      entry.max_tokens !== undefined &&
      (typeof entry.max_tokens !== 'number' ||
        !Number.isInteger(entry.max_tokens) ||
        entry.max_tokens < 1)
    ) {
      throw new InvalidArgumentError({
        argument: 'prompts',
        message: `${source}:${index + 1} has a "max_tokens" that is not a positive integer.`,
      });
    }
    prompts.push({
      id: entry.id,
      prompt: entry.prompt,
      max_tokens: entry.max_tokens as number | undefined,
    });
  }
  if (prompts.length === 0)
    throw new InvalidArgumentError({ argument: 'prompts', message: `${source} has no prompts.` });
  return prompts;
}

/** Reads and parses a JSON Lines prompt set from disk (see {@link parsePromptSet}). */
export async function readPromptSet(path: string): Promise<BenchPrompt[]> {
  return parsePromptSet(await readFile(path, 'utf8'), path);
}
