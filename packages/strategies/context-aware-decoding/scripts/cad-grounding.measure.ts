// How much context-aware decoding pulls stories260K's continuations toward the context (README numbers).
// Run: npx vitest run --config packages/eval/measure.config.ts packages/strategies/context-aware-decoding/scripts/cad-grounding.measure.ts
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { it } from 'vitest';
import { contextAwareDecoding } from '../src/index.js';

const SENTENCE_STARTERS = new Set([
  'One',
  'The',
  'Once',
  'She',
  'He',
  'They',
  'There',
  'Then',
  'A',
  'We',
  'It',
  'Every',
  'But',
  'So',
  'When',
  'Let',
  "Lily's",
]);
const words = (text: string) => text.match(/[A-Za-z']+/g) ?? [];
const names = (text: string) => [
  ...new Set(words(text).filter(word => /^[A-Z]/.test(word) && !SENTENCE_STARTERS.has(word))),
];
const trigrams = (list: string[]) =>
  list.slice(2).map((_, i) =>
    list
      .slice(i, i + 3)
      .join(' ')
      .toLowerCase(),
  );

interface Case {
  id: string;
  context: string;
  prompt: string;
  /** Names the continuation should use (from the context). */
  names: string[];
}

function groundedCases(): Case[] {
  return readPromptFile('grounded').map(entry => {
    const context = entry.prompt.split('\n\n')[0];
    return { id: entry.id, context, prompt: entry.prompt, names: names(context) };
  });
}

/** Counter-prior cases: the context names someone the model would not name by itself. */
function nameSwapCases(): Case[] {
  const people = [
    ['Zara', 'girl', 'kite'],
    ['Milo', 'boy', 'drum'],
    ['Nina', 'girl', 'boat'],
    ['Omar', 'boy', 'car'],
    ['Rosa', 'girl', 'doll'],
    ['Theo', 'boy', 'ball'],
    ['Ivy', 'girl', 'hat'],
    ['Leo', 'boy', 'kite'],
    ['Mia', 'girl', 'cat'],
    ['Sam', 'boy', 'dog'],
    ['Ella', 'girl', 'book'],
    ['Finn', 'boy', 'truck'],
  ];
  return people.map(([name, kind, thing]) => {
    const context = `${name} was a little ${kind}. ${name} liked to play with a ${thing}. One day, ${name} lost the ${thing}.`;
    return {
      id: name,
      context,
      prompt: `${context}\n\nOnce upon a time, there was a little ${kind} named`,
      names: [name],
    };
  });
}

async function run(
  model: LoadedModel,
  cases: Case[],
  alpha: number | undefined,
  maxTokens: number,
) {
  let nameHits = 0;
  let nameTotal = 0;
  let copied = 0;
  let grams = 0;
  const samples: string[] = [];
  const start = performance.now();
  for (const testCase of cases) {
    const decoderModel =
      alpha === undefined
        ? model
        : contextAwareDecoding({ model, context: testCase.context, alpha });
    const { text } = await createDecoder({ model: decoderModel }).generate(testCase.prompt, {
      maxTokens,
    });
    if (samples.length < 2) samples.push(`${testCase.id}: ${JSON.stringify(text.slice(0, 120))}`);
    const continuationWords = words(text);
    for (const name of testCase.names) {
      nameTotal++;
      if (continuationWords.includes(name)) nameHits++;
    }
    const contextGrams = new Set(trigrams(words(testCase.context)));
    for (const gram of trigrams(continuationWords)) {
      grams++;
      if (contextGrams.has(gram)) copied++;
    }
  }
  return {
    nameRate: nameHits / nameTotal,
    nameHits,
    nameTotal,
    copyRate: grams ? copied / grams : 0,
    msPerPrompt: (performance.now() - start) / cases.length,
    samples,
  };
}

it('context-aware decoding vs greedy: context names and copied trigrams in the continuation', async () => {
  const model = await loadReferenceModel();
  const sets = [
    { name: 'bench/grounded (6, 64 tokens)', cases: groundedCases(), maxTokens: 64 },
    { name: 'name swap (12, 16 tokens)', cases: nameSwapCases(), maxTokens: 16 },
  ];
  const lines = [
    '| prompts | decoding | context names in continuation | context trigrams in continuation | ms / prompt |',
    '|---|---|---:|---:|---:|',
  ];
  for (const set of sets) {
    for (const alpha of [undefined, 0.5, 1, 2]) {
      const result = await run(model, set.cases, alpha, set.maxTokens);
      const label = alpha === undefined ? 'greedy' : `CAD α=${alpha} (greedy)`;
      lines.push(
        `| ${set.name} | ${label} | ${result.nameHits}/${result.nameTotal} (${(100 * result.nameRate).toFixed(0)}%) | ${(100 * result.copyRate).toFixed(1)}% | ${result.msPerPrompt.toFixed(0)} |`,
      );
      console.log(label, set.name, result.samples.join('\n  '));
    }
  }
  console.log(lines.join('\n'));
});
