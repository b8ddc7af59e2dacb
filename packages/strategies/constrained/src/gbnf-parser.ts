import { InvalidArgumentError } from '@decodekit/core';
import {
  ALL_CODE_POINTS,
  codePointElement,
  complementRanges,
  normalizeRanges,
  type CodePointRanges,
} from './code-points.js';
import { GrammarBuilder, type GrammarElement } from './grammar-ir.js';

/**
 * Parses a GBNF-style grammar (llama.cpp's syntax) into a byte grammar:
 *
 * ```
 * root   ::= object                      # one rule per `name ::= ...`; `root` is the start (option `root`)
 * object ::= "{" pair ("," pair)* "}"    # "literal" with \n \t \r \" \\ \xHH \uHHHH \UHHHHHHHH escapes
 * pair   ::= key ":" [0-9]+              # [classes] with ranges and ^negation, . = any character
 * key    ::= [a-z_] [a-z0-9_]{0,15}      # ( groups ), | alternation, * + ? {m} {m,} {m,n} repetition
 * ```
 * Literals and classes are Unicode characters matched as UTF-8 bytes. Rules may recurse, but not on the
 * left (a rule may not reach itself before reading a character).
 */
export function parseGbnf(
  source: string,
  { root = 'root', argument = 'grammar' }: { root?: string; argument?: string } = {},
): { builder: GrammarBuilder; root: number } {
  const builder = new GrammarBuilder();
  const ids = new Map<string, number>();
  const defined = new Set<string>();
  let pos = 0;
  function fail(message: string): never {
    const line = source.slice(0, pos).split('\n').length;
    throw new InvalidArgumentError({ argument, message: `${message} (line ${line}).` });
  }
  const ruleId = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      id = builder.declare(name);
      ids.set(name, id);
    }
    return id;
  };
  const skipSpace = (): void => {
    for (;;) {
      while (pos < source.length && /\s/.test(source[pos])) pos++;
      if (source[pos] === '#') while (pos < source.length && source[pos] !== '\n') pos++;
      else return;
    }
  };
  const name = (): string | undefined => {
    const match = /^[A-Za-z0-9_-]+/.exec(source.slice(pos));
    if (!match) return undefined;
    pos += match[0].length;
    return match[0];
  };
  const isDefinitionAhead = (): boolean => /^[A-Za-z0-9_-]+\s*::=/.test(source.slice(pos));
  const escape = (): number => {
    const c = source[pos++];
    const hex = (digits: number): number => {
      const text = source.slice(pos, pos + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(text)) fail(`bad \\${c} escape`);
      pos += digits;
      return parseInt(text, 16);
    };
    switch (c) {
      case 'n':
        return 0x0a;
      case 't':
        return 0x09;
      case 'r':
        return 0x0d;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      case undefined:
        return fail('unfinished escape');
      default:
        return c.codePointAt(0) ?? fail('unfinished escape');
    }
  };
  const character = (): number => {
    if (source[pos] === '\\') {
      pos++;
      return escape();
    }
    const cp = source.codePointAt(pos) ?? fail('unexpected end of the grammar');
    pos += cp > 0xffff ? 2 : 1;
    return cp;
  };

  const alternatives = (): GrammarElement[][] => {
    const out = [sequence()];
    skipSpace();
    while (source[pos] === '|') {
      pos++;
      out.push(sequence());
      skipSpace();
    }
    return out;
  };

  const sequence = (): GrammarElement[] => {
    const out: GrammarElement[] = [];
    for (;;) {
      skipSpace();
      if (pos >= source.length || source[pos] === '|' || source[pos] === ')' || isDefinitionAhead())
        return out;
      let atom = primary();
      for (;;) {
        const c = source[pos];
        if (c === '*' || c === '+' || c === '?') {
          pos++;
          const element = builder.group('group', atom);
          atom = builder.repeat('rep', element, c === '+' ? 1 : 0, c === '?' ? 1 : Infinity);
        } else if (c === '{') {
          const match = /^\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}/.exec(source.slice(pos));
          if (!match) fail('bad {m,n} repetition');
          pos += match[0].length;
          const min = Number(match[1]);
          const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
          if (max < min || (max > 10_000 && max !== Infinity))
            fail(`bad repetition bounds {${min},${max}}`);
          atom = builder.repeat('rep', builder.group('group', atom), min, max);
        } else break;
      }
      out.push(...atom);
    }
  };

  const primary = (): GrammarElement[] => {
    const c = source[pos];
    if (c === '"') {
      pos++;
      const codePoints: number[] = [];
      while (source[pos] !== '"') {
        if (pos >= source.length) fail('unterminated string literal');
        codePoints.push(character());
      }
      pos++;
      return builder.text(String.fromCodePoint(...codePoints));
    }
    if (c === '[') {
      pos++;
      const negate = source[pos] === '^';
      if (negate) pos++;
      const ranges: [number, number][] = [];
      while (source[pos] !== ']') {
        if (pos >= source.length) fail('unterminated character class');
        const lo = character();
        let hi = lo;
        if (source[pos] === '-' && source[pos + 1] !== ']') {
          pos++;
          hi = character();
        }
        if (hi < lo) fail('reversed class range');
        ranges.push([lo, hi]);
      }
      pos++;
      const set: CodePointRanges = normalizeRanges(ranges);
      return [codePointElement(builder, negate ? complementRanges(set) : set)];
    }
    if (c === '.') {
      pos++;
      return [codePointElement(builder, ALL_CODE_POINTS)];
    }
    if (c === '(') {
      pos++;
      const inner = alternatives();
      skipSpace();
      if (source[pos] !== ')') fail('missing )');
      pos++;
      return [builder.choice('group', inner)];
    }
    const reference = name();
    if (reference === undefined) return fail(`unexpected ${JSON.stringify(source[pos])}`);
    return [{ kind: 'rule', rule: ruleId(reference) }];
  };

  skipSpace();
  while (pos < source.length) {
    const ruleName = name() ?? fail('expected a rule name');
    skipSpace();
    if (source.slice(pos, pos + 3) !== '::=') fail(`expected ::= after ${ruleName}`);
    pos += 3;
    if (defined.has(ruleName)) fail(`rule ${ruleName} is defined twice`);
    defined.add(ruleName);
    builder.rules[ruleId(ruleName)].alternatives = alternatives();
    skipSpace();
    if (pos < source.length && !isDefinitionAhead())
      fail(`unexpected ${JSON.stringify(source[pos])}`);
  }
  for (const referenced of ids.keys())
    if (!defined.has(referenced)) fail(`rule ${referenced} is used but never defined`);
  const rootId = ids.get(root);
  if (rootId === undefined || !defined.has(root)) return fail(`the grammar has no "${root}" rule`);
  return { builder, root: rootId };
}
