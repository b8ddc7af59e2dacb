/**
 * Constrained decoding: a JSON Schema compiled against the tokenizer's bytes bans every token that would
 * leave the schema, so the answer parses and validates by construction (closed within maxTokens), and it
 * stays exact under speculative decoding.
 * Run: `pnpm --filter @decodekit/examples exec tsx constrained.ts`.
 */
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, speculative } from '@decodekit/core';
import { jsonSchema, regex } from '@decodekit/strategy-constrained';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const { tokenizer } = model;
  const maxTokens = 48;
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 1, maximum: 12 },
      pet: { enum: ['cat', 'dog', 'fish'] },
    },
    required: ['name', 'age', 'pet'],
  };
  const person = await createDecoder({ model })
    .use(jsonSchema(schema, { tokenizer, maxTokens }))
    .use(speculative({ drafter: promptLookup() }))
    .generate('Lily was a little girl. She', { maxTokens, temperature: 0.8, seed: 7 });
  write(`JSON: ${JSON.stringify(JSON.parse(person.text))}\n`);

  const date = await createDecoder({ model })
    .use(regex(/20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9])/, { tokenizer, maxTokens: 16 }))
    .generate('The day was', { maxTokens: 16 });
  write(`Date: ${date.text}\n`);
  await model.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
