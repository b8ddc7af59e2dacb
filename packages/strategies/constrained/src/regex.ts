import { InvalidArgumentError } from '@decodekit/core';
import { codePointElement } from './code-points.js';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import { GrammarBuilder } from './grammar-ir.js';
import { checkTokenizer } from './json-schema.js';
import { compileRegex } from './regex-compiler.js';

/**
 * Constrains the whole generated text (as UTF-8 bytes) to match a regular expression. ECMAScript syntax in
 * unicode mode; the match is anchored at both ends. Flags: `s` (dotAll) is honoured, `u`, `g`, `y`, `d`
 * are ignored, `i`, `m` and `v` are rejected. Backreferences, lookarounds, `\b` and `\p{...}` are rejected.
 *
 * @example
 * const decoder = createDecoder({ model }).use(regex(/(yes|no), because [a-z ]{1,40}\./, { tokenizer: model.tokenizer }));
 */
export function regex(pattern: string | RegExp, options: ConstraintOptions): ConstraintProcessor {
  checkTokenizer(options);
  const source =
    typeof pattern === 'string' ? pattern : pattern instanceof RegExp ? pattern.source : undefined;
  if (source === undefined)
    throw new InvalidArgumentError({ argument: 'pattern', message: 'pass a string or a RegExp.' });
  const flags = pattern instanceof RegExp ? pattern.flags : '';
  const bad = flags.replace(/[sugyd]/g, '');
  if (bad)
    throw new InvalidArgumentError({
      argument: 'pattern',
      message: `unsupported regular expression flags "${bad}" (only s is honoured).`,
    });
  const dotAll = flags.includes('s');
  const constraint = compileConstraint(
    options.tokenizer,
    `regex:${dotAll ? 's' : ''}:${source}`,
    () => {
      const builder = new GrammarBuilder();
      const elements = compileRegex(builder, source, {
        match: 'full',
        character: ranges => codePointElement(builder, ranges),
        dotAll,
        argument: 'pattern',
      });
      const root = builder.rule('root', [elements]);
      return { builder, root: (root as { rule: number }).rule };
    },
    'pattern',
  );
  return constraintProcessor(`regex(/${source}/)`, constraint, options);
}
