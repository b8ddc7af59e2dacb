import { InvalidArgumentError } from '@decodekit/core';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import { compileJsonSchema, type JsonSchema } from './json-schema-compiler.js';

/**
 * Constrains generation to compact JSON (no whitespace) that validates against a JSON Schema (draft-07 or
 * 2020-12). The schema is compiled against the tokenizer's vocabulary on bytes and cached per (tokenizer,
 * schema). Unsupported keywords are rejected here, all listed in one InvalidArgumentError.
 *
 * Properties are written in declaration order, only declared ones (plus undeclared `required` names) when
 * `properties` is given — as if `additionalProperties` were false; see the README for the full policy.
 *
 * @example
 * const decoder = createDecoder({ model }).use(jsonSchema({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, { tokenizer: model.tokenizer, maxTokens: 64 }));
 * const { text } = await decoder.generate('A character:', { maxTokens: 64 });
 */
export function jsonSchema(schema: JsonSchema, options: ConstraintOptions): ConstraintProcessor {
  checkTokenizer(options);
  if (
    typeof schema !== 'boolean' &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  ) {
    throw new InvalidArgumentError({
      argument: 'schema',
      message: 'a JSON Schema is an object or a boolean.',
    });
  }
  const key = `json-schema:${JSON.stringify(schema)}`;
  const constraint = compileConstraint(
    options.tokenizer,
    key,
    () => compileJsonSchema(schema),
    'schema',
  );
  return constraintProcessor('json-schema', constraint, options);
}

/** @internal */
export function checkTokenizer(options: ConstraintOptions | undefined): void {
  if (!options?.tokenizer || typeof options.tokenizer.tokenBytes !== 'function') {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message:
        'constraints are compiled against the vocabulary: pass { tokenizer: model.tokenizer }.',
    });
  }
}
