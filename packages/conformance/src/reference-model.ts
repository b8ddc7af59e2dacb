import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadedModel } from '@decodekit/core';

/** The reference model every strategy is checked on. */
export const REFERENCE_MODEL = 'karpathy/tinyllamas/stories260K';

let cached: Promise<LoadedModel> | undefined;

/**
 * Loads stories260K once per test process through the model resolver (DECODEKIT_MODELS mirrors, the
 * cache, or a download) on the CPU backend.
 */
export function loadReferenceModel(): Promise<LoadedModel> {
  cached ??= (async () => {
    const { loadModel } = await import('@decodekit/backend-onnx');
    return loadModel(REFERENCE_MODEL);
  })();
  return cached;
}

/** A prompt of the bench sets, tokenized. */
export interface ReferencePrompt {
  id: string;
  ids: number[];
  maxTokens: number;
}

/** Reads a JSONL prompt file shipped with this package (`data/<name>.jsonl`). */
export function readPromptFile(
  name: string,
): { id: string; prompt: string; max_tokens?: number }[] {
  const path = fileURLToPath(new URL(`../data/${name}.jsonl`, import.meta.url));
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(line => line.trim().length > 0)
    .map(line => JSON.parse(line) as { id: string; prompt: string; max_tokens?: number });
}

/** Every prompt of bench/stories.jsonl and bench/grounded.jsonl, and BOS alone (200 tokens). */
export function referencePrompts(model: LoadedModel): ReferencePrompt[] {
  const prompts: ReferencePrompt[] = [];
  for (const file of ['stories', 'grounded']) {
    for (const entry of readPromptFile(file)) {
      prompts.push({
        id: entry.id,
        ids: model.tokenizer.encode(entry.prompt),
        maxTokens: entry.max_tokens ?? 128,
      });
    }
  }
  prompts.push({ id: 'bos', ids: [model.info.bosTokenId ?? 1], maxTokens: 200 });
  return prompts;
}
