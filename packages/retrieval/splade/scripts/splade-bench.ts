/**
 * Node-only helpers of the SPLADE scripts and tests: the held-out retrieval bench built from bench/*.jsonl, its
 * nDCG@10, and the committed SPLADE-tuned stories260K as a model folder.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecoder, type CausalLM, type Tokenizer } from '@decodekit/core';
import { defaultCacheDir } from '@decodekit/models/node';
import { storyRetrievalPair } from '@decodekit/train';
import { ndcgAtK, type SparseIndex, type Scoring } from '../src/index.js';

/** stories260K fine-tuned as an echo SPLADE encoder (`decodekit train splade`, see README), llama2.c format. */
export const TUNED_CHECKPOINT = fileURLToPath(
  new URL('../weights/stories260K-splade.bin', import.meta.url),
);

/** The prompt sets the bench is built from (held out of training with `--held-out`). */
export const BENCH_PROMPT_FILES = ['stories', 'grounded'].map(name =>
  fileURLToPath(new URL(`../../../../bench/${name}.jsonl`, import.meta.url)),
);

/** One bench query: its text and the id of its one relevant document. */
export interface BenchQuery {
  readonly id: string;
  readonly text: string;
}

/**
 * The held-out bench: for each prompt of bench/stories.jsonl and bench/grounded.jsonl, the document is the
 * model's greedy 64-token continuation (prompt left out) and the query is the prompt's first sentence
 * (`storyRetrievalPair`, the construction the training pairs use).
 */
export async function spladeBench(
  model: CausalLM & { tokenizer: Tokenizer },
): Promise<{ documents: { id: string; text: string }[]; queries: BenchQuery[] }> {
  const prompts = BENCH_PROMPT_FILES.flatMap(file =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line) as { id: string; prompt: string }),
  );
  const decoder = createDecoder({ model, tokenizer: model.tokenizer });
  const documents = [];
  const queries = [];
  for (const { id, prompt } of prompts) {
    const pair = await storyRetrievalPair(decoder, prompt);
    documents.push({ id, text: pair.document });
    queries.push({ id, text: pair.query });
  }
  return { documents, queries };
}

/** Mean nDCG@10 and top-1 accuracy of an index over the bench queries. */
export async function benchScores(
  index: SparseIndex,
  queries: readonly BenchQuery[],
  scoring: Scoring,
): Promise<{ ndcg: number; top1: number }> {
  let ndcg = 0;
  let top1 = 0;
  for (const query of queries) {
    const ranking = (await index.search(query.text, 10, { scoring })).map(hit => hit.id);
    ndcg += ndcgAtK(ranking, new Map([[query.id, 1]]), 10);
    if (ranking[0] === query.id) top1++;
  }
  return { ndcg: ndcg / queries.length, top1: top1 / queries.length };
}

/**
 * A llama2.c model folder holding `checkpoint` and stories260K's tokenizer from the mirror (`DECODEKIT_MODELS`),
 * made once under `<decodekit cache>/splade/<hash>`; `loadModel` converts it like any llama2.c folder.
 */
export function spladeModelFolder(checkpoint = TUNED_CHECKPOINT): string {
  const mirror = (process.env.DECODEKIT_MODELS ?? '../shared/models').split(':')[0];
  const tokenizer = join(mirror, 'karpathy/tinyllamas/stories260K/tok512.bin');
  const hash = createHash('sha256').update(readFileSync(checkpoint)).digest('hex').slice(0, 12);
  const folder = join(defaultCacheDir(), 'splade', `stories260K-splade-${hash}`);
  if (!existsSync(join(folder, 'tok512.bin'))) {
    mkdirSync(folder, { recursive: true });
    copyFileSync(checkpoint, join(folder, 'stories260K-splade.bin'));
    copyFileSync(tokenizer, join(folder, 'tok512.bin'));
  }
  return folder;
}
