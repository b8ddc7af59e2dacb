import { InvalidArgumentError } from '@decodekit/core';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import { parseGbnf } from './gbnf-parser.js';
import { checkTokenizer } from './json-schema.js';

/** Options of `grammar()`. */
export interface GrammarOptions extends ConstraintOptions {
  /** The start rule. Default `root`. */
  root?: string;
}

/**
 * Constrains the generated text to a context-free grammar in GBNF syntax (llama.cpp's EBNF dialect; see
 * the README). Recognised by a pushdown automaton over bytes with memoized transitions and a token mask
 * cached per configuration.
 *
 * @example
 * const decoder = createDecoder({ model }).use(grammar('root ::= "(" root ")" | "x"', { tokenizer: model.tokenizer }));
 */
export function grammar(source: string, options: GrammarOptions): ConstraintProcessor {
  checkTokenizer(options);
  if (typeof source !== 'string' || source.trim() === '') {
    throw new InvalidArgumentError({
      argument: 'grammar',
      message: 'pass the grammar source text (GBNF).',
    });
  }
  const root = options.root ?? 'root';
  const constraint = compileConstraint(
    options.tokenizer,
    `gbnf:${root}:${source}`,
    () => parseGbnf(source, { root }),
    'grammar',
  );
  return constraintProcessor('grammar', constraint, options);
}
