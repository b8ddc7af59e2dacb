import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadReferenceModel } from '@decodekit/conformance';
import { convertLlama2cToFolder, defaultMirrors } from '@decodekit/models/node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKickQuestions, compareModels, writeCompareReports } from './index.js';

const STORIES = [
  {
    id: 'g0',
    text: 'Tom had a small dog named Spot. Spot liked to run and jump. One day, Spot ran into the woods.',
  },
  { id: 'g1', text: 'Mia had a blue kite. She went to the hill with her dad to fly it.' },
  {
    id: 'g2',
    text: 'Once upon a time, there was a little girl named Lily. She saw a big, red ball.',
  },
];
const work = mkdtempSync(join(tmpdir(), 'decodekit-compare-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('compareModels on stories260K', () => {
  it('scores dense against itself identically, and a 1-KV-head variant lower, with the judge hook', async () => {
    const dense = await loadReferenceModel();
    const source = join(defaultMirrors()[0], 'karpathy/tinyllamas/stories260K');
    const folder = await convertLlama2cToFolder(
      join(source, 'stories260K.bin'),
      join(source, 'tok512.bin'),
      join(work, 'kv1'),
      { kvHeads: 1, kvCalibration: { sequences: 2, length: 128 } },
    );
    const { loadModel } = await import('@decodekit/backend-onnx');
    const kv1 = await loadModel(folder);
    const questions = buildKickQuestions(STORIES, { choices: 2 });
    expect(questions.length).toBeGreaterThanOrEqual(4);
    const judged: string[] = [];
    const result = await compareModels({
      dense: { name: 'dense', model: dense, tokenizer: dense.tokenizer },
      variants: [
        { name: 'dense again', model: dense, tokenizer: dense.tokenizer },
        { name: 'kv-heads:1', model: kv1, tokenizer: kv1.tokenizer },
      ],
      texts: STORIES.map(story => story.text),
      prompts: ['Once upon a time', 'Tom had a red ball.'],
      maxTokens: 24,
      questions,
      judge: ({ model, output, denseOutput }) => {
        judged.push(model);
        return output === denseOutput ? 1 : 0;
      },
    });
    await kv1.dispose();
    const [denseRow, again, compressed] = result.rows;
    expect({ ...again, model: 'dense' }).toEqual(denseRow); // the LLM-KICK oracle: dense vs dense is identical
    expect(denseRow.greedy_agreement).toBe(1);
    expect(denseRow.top1_agreement).toBe(1);
    expect(compressed.top1_agreement).toBeLessThan(1);
    expect(compressed.top1_agreement).toBeGreaterThanOrEqual(compressed.greedy_agreement);
    expect(denseRow.judge).toBe(1);
    expect(judged).toHaveLength(3 * questions.length);
    expect(compressed.perplexity).toBeGreaterThan(denseRow.perplexity);
    expect(compressed.greedy_agreement).toBeLessThan(1);
    for (const row of result.rows) {
      for (const value of [row.mc_accuracy, row.exact_match, row.judge ?? 0])
        expect(value).toBeGreaterThanOrEqual(0);
    }
    expect(result.answers).toHaveLength(3 * questions.length);

    const written = await writeCompareReports(result, join(work, 'report'));
    const markdown = readFileSync(written.markdown, 'utf8');
    expect(markdown).toContain(
      '| model | perplexity ↓ | greedy agreement ↑ | top-1 agreement ↑ | MC accuracy ↑ | exact match ↑ | judge ↑ |',
    );
    expect(markdown).toContain('| kv-heads:1 |');
  });

  it('rejects duplicate names and a judge score outside [0, 1]', async () => {
    const dense = await loadReferenceModel();
    const entry = { name: 'dense', model: dense, tokenizer: dense.tokenizer };
    await expect(
      compareModels({ dense: entry, variants: [entry], texts: ['a'], prompts: [], questions: [] }),
    ).rejects.toThrow(/two models are named "dense"/);
    await expect(
      compareModels({
        dense: entry,
        variants: [],
        texts: [],
        prompts: [],
        questions: buildKickQuestions(STORIES, { choices: 2 }).slice(0, 1),
        judge: () => 2,
      }),
    ).rejects.toThrow(/score in \[0, 1\]/);
  });
});
