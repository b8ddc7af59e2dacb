import { RegExpParser, type AST } from '@eslint-community/regexpp';
import { InvalidArgumentError } from '@decodekit/core';
import {
  ALL_CODE_POINTS,
  complementRanges,
  normalizeRanges,
  type CodePointRanges,
} from './code-points.js';
import type { GrammarBuilder, GrammarElement } from './grammar-ir.js';

/** How a regular expression is placed into a grammar. */
export interface RegexCompileOptions {
  /** 'full': the whole text must match (anchors at the edges are redundant). 'search': JSON Schema `pattern`
   *  semantics — the pattern may match anywhere unless anchored with `^` / `$` at its edges. */
  readonly match: 'full' | 'search';
  /** Makes the element matching one character of `ranges` (UTF-8 text, or JSON string content). */
  readonly character: (ranges: CodePointRanges) => GrammarElement;
  /** `.` matches line terminators too (the `s` flag). */
  readonly dotAll?: boolean;
  /** Name of the argument, for errors. */
  readonly argument: string;
}

const LINE_TERMINATORS: CodePointRanges = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];
const DIGIT: CodePointRanges = [[0x30, 0x39]];
const WORD: CodePointRanges = normalizeRanges([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
const SPACE: CodePointRanges = normalizeRanges([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);

/**
 * Parses an ECMAScript regular expression (unicode mode, with @eslint-community/regexpp) and compiles it
 * into grammar elements. Supported: literals, `.`, classes (ranges, negation, `\d \w \s` and their
 * negations), groups, alternation, quantifiers (greedy or lazy — both mean the same set), `^`/`$` at the
 * edges of top-level alternatives. Rejected: backreferences, lookarounds, `\b`, Unicode property escapes,
 * inner anchors, flags other than `s` and `u`.
 */
export function compileRegex(
  builder: GrammarBuilder,
  source: string,
  options: RegexCompileOptions,
): GrammarElement[] {
  let pattern: AST.Pattern;
  try {
    pattern = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(source, 0, source.length, {
      unicode: true,
    });
  } catch (error) {
    throw new InvalidArgumentError({
      argument: options.argument,
      message: `invalid regular expression /${source}/u: ${(error as Error).message}`,
    });
  }
  const unsupported = (what: string): never => {
    throw new InvalidArgumentError({
      argument: options.argument,
      message: `unsupported regular expression feature in /${source}/: ${what}.`,
    });
  };
  const any = options.dotAll ? ALL_CODE_POINTS : complementRanges(LINE_TERMINATORS);

  const escapeSet = (node: AST.EscapeCharacterSet): CodePointRanges => {
    const base = node.kind === 'digit' ? DIGIT : node.kind === 'word' ? WORD : SPACE;
    return node.negate ? complementRanges(base) : base;
  };

  const classRanges = (node: AST.CharacterClass): CodePointRanges => {
    const ranges: [number, number][] = [];
    for (const element of node.elements) {
      if (element.type === 'Character') ranges.push([element.value, element.value]);
      else if (element.type === 'CharacterClassRange')
        ranges.push([element.min.value, element.max.value]);
      else if (element.type === 'CharacterSet' && element.kind !== 'property')
        ranges.push(...escapeSet(element));
      else unsupported(`class element ${element.raw}`);
    }
    const set = normalizeRanges(ranges);
    return node.negate ? complementRanges(set) : set;
  };

  const sequence = (
    alternative: AST.Alternative,
    allowStart: boolean,
    allowEnd: boolean,
  ): { elements: GrammarElement[]; start: boolean; end: boolean } => {
    const elements: GrammarElement[] = [];
    let start = false;
    let end = false;
    alternative.elements.forEach((element, i) => {
      if (element.type === 'Assertion') {
        if (element.kind === 'start' && allowStart && i === 0) start = true;
        else if (element.kind === 'end' && allowEnd && i === alternative.elements.length - 1)
          end = true;
        else unsupported(`assertion ${element.raw} (only ^ at the start and $ at the end)`);
        return;
      }
      elements.push(...atom(element));
    });
    return { elements, start, end };
  };

  const alternatives = (nodes: readonly AST.Alternative[]): GrammarElement[][] =>
    nodes.map(alt => sequence(alt, false, false).elements);

  const atom = (node: AST.QuantifiableElement | AST.Quantifier): GrammarElement[] => {
    switch (node.type) {
      case 'Character':
        return [options.character([[node.value, node.value]])];
      case 'CharacterSet':
        if (node.kind === 'any') return [options.character(any)];
        if (node.kind === 'property') return unsupported(`Unicode property escape ${node.raw}`);
        return [options.character(escapeSet(node))];
      case 'CharacterClass':
        return [options.character(classRanges(node))];
      case 'Group':
      case 'CapturingGroup':
        if (node.type === 'Group' && node.modifiers) unsupported(`modifiers ${node.raw}`);
        return [builder.choice('group', alternatives(node.alternatives))];
      case 'Quantifier': {
        const inner = builder.group('quantified', atom(node.element));
        if (node.max !== Infinity && node.max > 10_000)
          unsupported(`repetition bound ${node.max} (at most 10000)`);
        return builder.repeat('repeat', inner, node.min, node.max);
      }
      case 'Backreference':
        return unsupported(`backreference ${node.raw}`);
      default:
        return unsupported(`${node.type} ${node.raw}`);
    }
  };

  const top = pattern.alternatives.map(alt => {
    const { elements, start, end } = sequence(alt, true, true);
    if (options.match === 'full') return elements;
    const anything = builder.repeat('any', options.character(ALL_CODE_POINTS), 0, Infinity);
    return [...(start ? [] : anything), ...elements, ...(end ? [] : anything)];
  });
  return [builder.choice('regex', top)];
}
