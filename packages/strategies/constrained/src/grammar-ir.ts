import { InvalidArgumentError } from '@decodekit/core';

/** A set of bytes as a 256-bit mask. [8] */
export type ByteSet = Uint32Array;

/** One element of an alternative: a byte from a set, or a reference to another rule. */
export type GrammarElement =
  | { readonly kind: 'bytes'; readonly set: ByteSet }
  | { readonly kind: 'rule'; readonly rule: number };

/** A rule: alternatives of element sequences (an empty sequence is ε). */
export interface GrammarRule {
  readonly name: string;
  alternatives: GrammarElement[][];
}

/** Makes a byte set from inclusive byte ranges. */
export function byteSet(...ranges: readonly (readonly [number, number])[]): ByteSet {
  const set = new Uint32Array(8);
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) set[b >>> 5] |= 1 << (b & 31);
  return set;
}

/** True when `byte` is in `set`. */
export function hasByte(set: ByteSet, byte: number): boolean {
  return ((set[byte >>> 5] >>> (byte & 31)) & 1) === 1;
}

/**
 * Builds a context-free grammar over bytes (BNF with helper rules for EBNF operators). Every constraint —
 * JSON Schema, regular expression, GBNF — compiles to this intermediate form; the pushdown recogniser runs it.
 */
export class GrammarBuilder {
  readonly rules: GrammarRule[] = [];
  private readonly memo = new Map<string, number>();
  /** Most rules a grammar may have (guards against huge repetition counts). */
  static readonly maxRules = 200_000;

  /** Declares a rule (alternatives set later) and returns its id. */
  declare(name: string): number {
    if (this.rules.length >= GrammarBuilder.maxRules) {
      throw new InvalidArgumentError({
        argument: 'constraint',
        message: `the compiled grammar exceeds ${GrammarBuilder.maxRules} rules; lower repetition bounds (maxLength, maxItems, {m,n}).`,
      });
    }
    this.rules.push({ name, alternatives: [] });
    return this.rules.length - 1;
  }

  /** Declares a rule with its alternatives and returns a reference element to it. */
  rule(name: string, alternatives: GrammarElement[][]): GrammarElement {
    const id = this.declare(name);
    this.rules[id].alternatives = alternatives;
    return { kind: 'rule', rule: id };
  }

  /** A reference to a memoized rule built once per key. */
  memoRule(key: string, build: () => GrammarElement[][]): GrammarElement {
    const existing = this.memo.get(key);
    if (existing !== undefined) return { kind: 'rule', rule: existing };
    const id = this.declare(key);
    this.memo.set(key, id);
    this.rules[id].alternatives = build();
    return { kind: 'rule', rule: id };
  }

  /** The elements that match exactly these bytes. */
  literal(bytes: ArrayLike<number>): GrammarElement[] {
    return Array.from(
      bytes,
      byte => ({ kind: 'bytes', set: byteSet([byte, byte]) }) as GrammarElement,
    );
  }

  /** The elements that match the UTF-8 encoding of `text`. */
  text(text: string): GrammarElement[] {
    return this.literal(new TextEncoder().encode(text));
  }

  /** One element standing for a sequence (a rule when it is longer than one element). */
  group(name: string, sequence: GrammarElement[]): GrammarElement {
    return sequence.length === 1 ? sequence[0] : this.rule(name, [sequence]);
  }

  /** One element standing for a choice between sequences. */
  choice(name: string, alternatives: GrammarElement[][]): GrammarElement {
    if (alternatives.length === 1 && alternatives[0].length === 1) return alternatives[0][0];
    return this.rule(name, alternatives);
  }

  /**
   * `element{min,max}` (max may be Infinity): `min` copies followed by nested optionals, or a right-recursive
   * star. Right recursion keeps the recogniser's stacks flat (tail positions are not pushed).
   */
  repeat(name: string, element: GrammarElement, min: number, max: number): GrammarElement[] {
    const out: GrammarElement[] = [];
    for (let i = 0; i < min; i++) out.push(element);
    if (max === Infinity) {
      // A star over something that matches ε, as in (a*)* or (a|a?)+, would be left-recursive: repeat its
      // non-empty part instead (the same language).
      const body = this.nullable(element) ? this.nonEmpty(element) : element;
      const star = this.declare(`${name}*`);
      this.rules[star].alternatives = [[body, { kind: 'rule', rule: star }], []];
      out.push({ kind: 'rule', rule: star });
      return out;
    }
    let tail: GrammarElement | undefined;
    for (let k = 1; k <= max - min; k++) {
      tail = this.rule(`${name}?${k}`, [tail ? [element, tail] : [element], []]);
    }
    if (tail) out.push(tail);
    return out;
  }

  /** True when `element` can match the empty string (over the rules defined so far). */
  nullable(element: GrammarElement): boolean {
    if (element.kind === 'bytes') return false;
    // Least fixpoint over the rules reachable from the element.
    const reachable: number[] = [];
    const seen = new Set<number>([element.rule]);
    for (let i = 0, stack = [element.rule]; i < stack.length; i++) {
      reachable.push(stack[i]);
      for (const alt of this.rules[stack[i]].alternatives) {
        for (const e of alt) {
          if (e.kind === 'rule' && !seen.has(e.rule)) {
            seen.add(e.rule);
            stack.push(e.rule);
          }
        }
      }
    }
    const empty = new Set<number>();
    for (let changed = true; changed;) {
      changed = false;
      for (const r of reachable) {
        if (empty.has(r)) continue;
        if (
          this.rules[r].alternatives.some(alt =>
            alt.every(e => e.kind === 'rule' && empty.has(e.rule)),
          )
        ) {
          empty.add(r);
          changed = true;
        }
      }
    }
    return empty.has(element.rule);
  }

  /** An element matching what `element` matches except the empty string (ε-removal, memoized per rule). */
  nonEmpty(element: GrammarElement, memo = new Map<number, number>()): GrammarElement {
    if (element.kind === 'bytes') return element;
    const known = memo.get(element.rule);
    if (known !== undefined) return { kind: 'rule', rule: known };
    const id = this.declare(`${this.rules[element.rule].name}+`);
    memo.set(element.rule, id);
    const alternatives: GrammarElement[][] = [];
    for (const alt of this.rules[element.rule].alternatives) {
      // e1 e2 … en without ε: NE(e1) e2 … en, or (when e1 matches ε) NE(e2 … en).
      for (let i = 0; i < alt.length; i++) {
        alternatives.push([this.nonEmpty(alt[i], memo), ...alt.slice(i + 1)]);
        if (!this.nullable(alt[i])) break;
      }
    }
    this.rules[id].alternatives = alternatives;
    return { kind: 'rule', rule: id };
  }
}

/** Position kinds of the flattened grammar. */
export const END = 0;
export const BYTES = 1;
export const CALL = 2;

/**
 * A grammar flattened into positions: every alternative is a run of positions ending with an END position.
 * Position p + 1 follows p inside its alternative.
 */
export interface FlatGrammar {
  readonly kind: Uint8Array; // [positions]
  /** For BYTES positions: the byte set. */
  readonly sets: (ByteSet | undefined)[];
  /** For CALL positions: the called rule. [positions] */
  readonly callee: Int32Array;
  /** First position of each alternative of each rule. */
  readonly starts: number[][];
  readonly root: number;
  readonly ruleNames: readonly string[];
  /** The rule each position belongs to. [positions] */
  readonly ruleOf: Int32Array;
}

/**
 * Validates and flattens a grammar: drops alternatives that can never finish (unproductive rules), rejects
 * left recursion (the stack recogniser would not terminate) and a root that admits no string.
 */
export function flattenGrammar(
  rules: readonly GrammarRule[],
  root: number,
  what: string,
): FlatGrammar {
  // Productive rules: fixed point of "some alternative has only productive parts".
  const productive = new Uint8Array(rules.length);
  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < rules.length; r++) {
      if (productive[r]) continue;
      if (
        rules[r].alternatives.some(alt => alt.every(e => e.kind === 'bytes' || productive[e.rule]))
      ) {
        productive[r] = 1;
        changed = true;
      }
    }
  }
  if (!productive[root]) {
    throw new InvalidArgumentError({
      argument: what,
      message:
        'the constraint admits no finite string: look for an empty character class (such as [^\\s\\S]), ' +
        'contradictory bounds (such as minLength above maxLength) or a rule that only ever recurses.',
    });
  }
  const alternatives = rules.map(rule =>
    rule.alternatives.filter(alt =>
      alt.every(e => (e.kind === 'bytes' ? e.set.some(word => word !== 0) : productive[e.rule])),
    ),
  );
  // Nullable rules, then left recursion through nullable prefixes.
  const nullable = new Uint8Array(rules.length);
  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < rules.length; r++) {
      if (nullable[r]) continue;
      if (alternatives[r].some(alt => alt.every(e => e.kind === 'rule' && nullable[e.rule]))) {
        nullable[r] = 1;
        changed = true;
      }
    }
  }
  const leftCalls = alternatives.map(alts => {
    const calls = new Set<number>();
    for (const alt of alts) {
      for (const e of alt) {
        if (e.kind === 'bytes') break;
        calls.add(e.rule);
        if (!nullable[e.rule]) break;
      }
    }
    return [...calls];
  });
  const color = new Uint8Array(rules.length); // 0 new, 1 on stack, 2 done
  const visit = (r: number): void => {
    color[r] = 1;
    for (const next of leftCalls[r]) {
      if (color[next] === 1) {
        throw new InvalidArgumentError({
          argument: what,
          message: `rule "${rules[next].name}" is left-recursive (it can call itself before reading a byte); rewrite it with repetition or right recursion.`,
        });
      }
      if (color[next] === 0) visit(next);
    }
    color[r] = 2;
  };
  for (let r = 0; r < rules.length; r++) if (color[r] === 0) visit(r);

  const kind: number[] = [];
  const sets: (ByteSet | undefined)[] = [];
  const callee: number[] = [];
  const ruleOf: number[] = [];
  const starts = alternatives.map((alts, r) =>
    alts.map(alt => {
      const start = kind.length;
      for (const e of alt) {
        kind.push(e.kind === 'bytes' ? BYTES : CALL);
        sets.push(e.kind === 'bytes' ? e.set : undefined);
        callee.push(e.kind === 'rule' ? e.rule : -1);
        ruleOf.push(r);
      }
      kind.push(END);
      sets.push(undefined);
      callee.push(-1);
      ruleOf.push(r);
      return start;
    }),
  );
  return {
    kind: Uint8Array.from(kind),
    sets,
    callee: Int32Array.from(callee),
    starts,
    root,
    ruleNames: rules.map(rule => rule.name),
    ruleOf: Int32Array.from(ruleOf),
  };
}

/**
 * Fewest bytes from each position to the end of its alternative, where a BYTES position counts 1 when
 * `usable` has one of its bytes and is impassable (Infinity) otherwise. [positions]
 */
export function minimalRestLengths(grammar: FlatGrammar, usable: ByteSet): Float64Array {
  const ruleCount = grammar.starts.length;
  const ruleMin = new Float64Array(ruleCount).fill(Infinity);
  const positions = grammar.kind.length;
  const rest = new Float64Array(positions).fill(Infinity);
  const passable = new Uint8Array(positions);
  for (let p = 0; p < positions; p++) {
    const set = grammar.sets[p];
    if (set) for (let w = 0; w < 8; w++) if ((set[w] & usable[w]) !== 0) passable[p] = 1;
  }
  const computeRest = (): boolean => {
    let changed = false;
    for (let p = positions - 1; p >= 0; p--) {
      let value: number;
      if (grammar.kind[p] === END) value = 0;
      else if (grammar.kind[p] === BYTES) value = passable[p] ? 1 + rest[p + 1] : Infinity;
      else value = ruleMin[grammar.callee[p]] + rest[p + 1];
      if (value !== rest[p]) {
        rest[p] = value;
        changed = true;
      }
    }
    for (let r = 0; r < ruleCount; r++) {
      let best = Infinity;
      for (const start of grammar.starts[r]) best = Math.min(best, rest[start]);
      if (best !== ruleMin[r]) {
        ruleMin[r] = best;
        changed = true;
      }
    }
    return changed;
  };
  // Bellman-Ford style relaxation; lengths are non-negative so it converges.
  while (computeRest());
  return rest;
}
