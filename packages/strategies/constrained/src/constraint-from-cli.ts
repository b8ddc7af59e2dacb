import { InvalidArgumentError, invariant, type Tokenizer } from '@decodekit/core';
import type { ConstraintProcessor } from './constraint-processor.js';
import { grammar } from './grammar.js';
import type { JsonSchema } from './json-schema-compiler.js';
import { jsonSchema } from './json-schema.js';
import { regex } from './regex.js';

/** What the CLI's `--json-schema FILE | --regex RE | --grammar FILE` flags carry (exactly one of the three). */
export interface CliConstraintOptions {
  jsonSchema?: JsonSchema;
  regex?: string;
  /** GBNF source text (the file's contents). */
  grammar?: string;
  tokenizer: Tokenizer;
  /** The generation's maxTokens: the constraint then closes the structure within it. */
  maxTokens?: number;
}

/**
 * Builds the constraint processor for the CLI from exactly one of `jsonSchema`, `regex` or `grammar`,
 * budget-aware with the generation's maxTokens.
 *
 * @example
 * const processor = constraintFromCli({ jsonSchema: JSON.parse(readFileSync(file, 'utf8')), tokenizer, maxTokens });
 */
export function constraintFromCli(options: CliConstraintOptions): ConstraintProcessor {
  const given = (['jsonSchema', 'regex', 'grammar'] as const).filter(
    key => options[key] !== undefined,
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError({
      argument: 'constraint',
      message: `give exactly one of --json-schema, --regex, --grammar (got ${given.length === 0 ? 'none' : given.join(', ')}).`,
    });
  }
  const common = { tokenizer: options.tokenizer, maxTokens: options.maxTokens };
  if (options.jsonSchema !== undefined) return jsonSchema(options.jsonSchema, common);
  if (options.regex !== undefined) return regex(options.regex, common);
  invariant(options.grammar !== undefined, 'exactly one constraint option is set');
  return grammar(options.grammar, common);
}
