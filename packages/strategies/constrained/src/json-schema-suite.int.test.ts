import { createDecoder, InvalidArgumentError } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import suite from './__fixtures__/json-schema-test-suite.json' with { type: 'json' };
import { jsonSchema, type JsonSchema } from './index.js';

/**
 * The official JSON Schema Test Suite (draft2020-12 and draft7, required files; schemas vendored in
 * __fixtures__ by scripts/extract-suite.mjs): every schema we compile is used to generate with stories260K at
 * T = 0 and at T = 1 with two seeds, budget-aware, and every output must parse and validate with ajv.
 */
type Loaded = Awaited<ReturnType<typeof loadModel>>;
let model: Loaded;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});
afterAll(async () => {
  await model?.dispose();
});

const groups = suite.groups as Record<
  string,
  { file: string; description: string; schema: JsonSchema }[]
>;
const MAX_TOKENS = 64;
const MIN_SUPPORTED: Record<string, number> = { 'draft2020-12': 113, draft7: 117 };

describe.each(Object.keys(groups))('JSON Schema Test Suite %s', draft => {
  it('every output of every supported schema validates with ajv', async () => {
    const AjvClass = (draft === 'draft2020-12' ? Ajv2020 : Ajv) as unknown as new (
      options: object,
    ) => { validate(schema: unknown, data: unknown): boolean; errorsText(): string };
    const ajv = new AjvClass({ strict: false, validateFormats: false });
    const rejected = new Map<string, number>();
    let supported = 0;
    let outputs = 0;
    for (const { file, description, schema } of groups[draft]) {
      let maxTokens = MAX_TOKENS;
      try {
        const probe = jsonSchema(schema, { tokenizer: model.tokenizer });
        maxTokens = Math.max(MAX_TOKENS, probe.minimalTokens);
      } catch (error) {
        if (!InvalidArgumentError.isInstance(error)) throw error;
        const reason = error.message
          .replace(/^.*unsupported JSON Schema features: /, '')
          .replace(/\.$/, '');
        for (const raw of reason.split(', ')) {
          const feature = raw
            .replace(
              /^\$ref .* \(only local JSON pointers\)$/,
              '$ref to another document or an anchor',
            )
            .replace(/^\$schema .*/, '$schema of a custom metaschema')
            .replace(/^pattern .*/, 'pattern with \\p{...}')
            .replace(
              /^Invalid argument .*admits no finite string.*/,
              'no finite instance (recursion without a base case)',
            );
          rejected.set(feature, (rejected.get(feature) ?? 0) + 1);
        }
        continue;
      }
      supported += 1;
      const decoder = createDecoder({ model }).use(
        jsonSchema(schema, { tokenizer: model.tokenizer, maxTokens }),
      );
      for (const [temperature, seed] of [
        [0, 0],
        [1, 1],
        [1, 2],
      ]) {
        const { text } = await decoder.generate('Once upon a time', {
          maxTokens,
          temperature,
          seed,
        });
        const valid = ajv.validate(schema, JSON.parse(text));
        if (!valid)
          console.error(
            `${draft}/${file} "${description}" T=${temperature} seed=${seed}: ${text} → ${ajv.errorsText()}`,
          );
        expect(valid, `${file}: ${description}: ${text}`).toBe(true);
        outputs += 1;
      }
    }
    const total = groups[draft].length;
    console.log(
      `${draft}: ${supported}/${total} schemas supported (${((100 * supported) / total).toFixed(1)}%), ${outputs} outputs valid; rejected: ` +
        [...rejected]
          .sort((a, b) => b[1] - a[1])
          .map(([feature, count]) => `${feature} (${count})`)
          .join(', '),
    );
    // Regression floor: the counts measured when this test was written (see the README).
    expect(supported).toBeGreaterThanOrEqual(MIN_SUPPORTED[draft]);
  });
});
