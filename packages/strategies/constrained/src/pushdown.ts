import { invariant, InvariantError } from '@decodekit/core';
import { BYTES, CALL, END, hasByte, type FlatGrammar } from './grammar-ir.js';

/** An immutable, interned stack of grammar positions. The top is the next element to match. */
export interface Stack {
  readonly id: number;
  readonly position: number;
  readonly parent: Stack | null;
  /** Fewest bytes (over the usable alphabet) to empty this stack. */
  readonly minBytes: number;
}

/**
 * A configuration of the recogniser: the set of stacks whose top is a byte position (the stacks are the
 * alternatives still alive). Interned, so equal configurations are one object and caches attach to it.
 */
export interface Configuration {
  readonly id: number;
  /** Live stacks, top at a BYTES position. */
  readonly stacks: readonly Stack[];
  /** Some derivation is complete here (an emptied stack). */
  readonly accepting: boolean;
  /** Fewest usable bytes to reach an accepting configuration (0 when accepting). */
  readonly minBytes: number;
  /** @internal byte transitions, filled lazily (undefined = not computed, null = dead). [256] */
  readonly byteNext: (Configuration | null | undefined)[];
  /** @internal per-tokenizer caches (token masks, token transitions). */
  cache?: unknown;
}

/**
 * A pushdown recogniser over bytes, in the style of llama.cpp's grammar stacks: a configuration is a set of
 * stacks of positions; a byte advances every stack whose top accepts it, and calls and returns are expanded
 * eagerly until every top is a byte position. Tail positions are not pushed, so right recursion and
 * repetition keep stacks flat. Configurations and stacks are interned and their byte transitions memoized,
 * which turns the recogniser into a lazily built DFA for regular constraints.
 */
export class PushdownRecogniser {
  readonly start: Configuration;
  private readonly stackTable = new Map<string, Stack>();
  private configTable = new Map<string, Configuration>();
  private nextStackId = 1;
  private nextConfigId = 1;
  /** Interned configurations kept before the table is cleared (live objects stay valid). */
  static readonly maxConfigurations = 50_000;

  constructor(
    readonly grammar: FlatGrammar,
    /** Fewest usable bytes from each position to the end of its alternative. [positions] */
    private readonly rest: Float64Array,
  ) {
    const out = new Map<number, Stack | null>();
    for (const start of grammar.starts[grammar.root]) this.expand(this.push(null, start), out, 0);
    this.start = this.configuration(out);
  }

  /** Number of configurations interned so far (for benchmarks). */
  get size(): number {
    return this.configTable.size;
  }

  /** The configuration after reading `byte`, or null when no stack accepts it. */
  step(config: Configuration, byte: number): Configuration | null {
    const cached = config.byteNext[byte];
    if (cached !== undefined) return cached;
    const out = new Map<number, Stack | null>();
    const { sets } = this.grammar;
    for (const stack of config.stacks) {
      const set = sets[stack.position];
      invariant(set !== undefined, 'a stack only points at byte-set positions');
      if (hasByte(set, byte)) this.expand(this.push(stack.parent, stack.position + 1), out, 0);
    }
    const next = out.size === 0 ? null : this.configuration(out);
    config.byteNext[byte] = next;
    return next;
  }

  /** The configuration after reading `bytes`, or null when they leave the language. */
  walk(config: Configuration | null, bytes: ArrayLike<number>): Configuration | null {
    let current = config;
    for (let i = 0; i < bytes.length && current; i++) current = this.step(current, bytes[i]);
    return current;
  }

  private push(parent: Stack | null, position: number): Stack | null {
    // A return position (END) at the top is popped right away: tail calls never grow the stack.
    let below = parent;
    let top = position;
    while (this.grammar.kind[top] === END) {
      if (!below) return null;
      top = below.position;
      below = below.parent;
    }
    const key = `${top},${below ? below.id : 0}`;
    let stack = this.stackTable.get(key);
    if (!stack) {
      stack = {
        id: this.nextStackId++,
        position: top,
        parent: below,
        minBytes: this.rest[top] + (below ? below.minBytes : 0),
      };
      this.stackTable.set(key, stack);
    }
    return stack;
  }

  /** Expands calls until the top is a byte position; collects ready stacks (null = accepted). */
  private expand(stack: Stack | null, out: Map<number, Stack | null>, depth: number): void {
    if (depth > 100_000)
      throw new InvariantError({
        message: 'grammar expansion did not terminate (left recursion slipped through)',
      });
    if (stack === null) {
      out.set(0, null);
      return;
    }
    const { kind, callee, starts } = this.grammar;
    const top = stack.position;
    if (kind[top] === BYTES) {
      out.set(stack.id, stack);
      return;
    }
    if (kind[top] !== CALL)
      throw new InvariantError({ message: 'a stack top must be a byte or call position' });
    // Mark the call as visited (negative key) so diamond-shaped nullable calls are expanded once.
    if (out.has(-stack.id)) return;
    out.set(-stack.id, stack);
    const continuation = this.push(stack.parent, top + 1);
    for (const start of starts[callee[top]])
      this.expand(this.push(continuation, start), out, depth + 1);
  }

  private configuration(out: Map<number, Stack | null>): Configuration {
    const stacks: Stack[] = [];
    let accepting = false;
    for (const [id, stack] of out) {
      if (id === 0) accepting = true;
      else if (id > 0 && stack) stacks.push(stack);
    }
    stacks.sort((a, b) => a.id - b.id);
    const key = `${accepting ? 'A' : ''}${stacks.map(stack => stack.id).join(',')}`;
    let config = this.configTable.get(key);
    if (config) return config;
    let minBytes = accepting ? 0 : Infinity;
    for (const stack of stacks) minBytes = Math.min(minBytes, stack.minBytes);
    config = {
      id: this.nextConfigId++,
      stacks,
      accepting,
      minBytes,
      byteNext: Array.from({ length: 256 }, () => undefined),
    };
    if (this.configTable.size >= PushdownRecogniser.maxConfigurations) {
      // Forget the intern table (not the objects): memory stays bounded on unbounded recursion.
      this.configTable = new Map();
      this.stackTable.clear();
    }
    this.configTable.set(key, config);
    return config;
  }
}
