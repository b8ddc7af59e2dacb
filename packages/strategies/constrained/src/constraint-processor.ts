import { InvalidArgumentError, type LogitsProcessor, type Tokenizer } from '@decodekit/core';
import { ConstraintDeadEndError, ConstraintViolationError } from './errors.js';
import { flattenGrammar, minimalRestLengths, type GrammarBuilder } from './grammar-ir.js';
import { PushdownRecogniser, type Configuration } from './pushdown.js';
import { vocabularyIndex, type VocabularyIndex } from './vocabulary-index.js';

/** Options every constraint factory takes. */
export interface ConstraintOptions {
  /** The tokenizer of the model; the constraint is compiled against its vocabulary (on bytes). */
  tokenizer: Tokenizer;
  /**
   * Token budget of the generation (pass the same value as `generate({ maxTokens })`). When set, the
   * constraint only allows tokens after which the structure can still be closed within the budget, so the
   * output is complete whenever maxTokens ≥ `minimalTokens`. Omit it for unbudgeted masking.
   */
  maxTokens?: number;
  /** Tokens that end generation; allowed only when the constraint is complete. Default: the tokenizer's. */
  eosTokenIds?: readonly number[];
}

/** State of a constraint processor: the recogniser configuration and the tokens generated so far. */
export interface ConstraintState {
  /** The recogniser configuration, or null after a token outside the constraint. */
  readonly configuration: Configuration | null;
  /** Tokens appended since `init` (EOS included). */
  readonly generated: number;
  /** An EOS token was appended to a complete structure. */
  readonly done: boolean;
  /** The token that broke the constraint, when `configuration` is null. */
  readonly offendingToken?: number;
  /** The budget the structure must close within (explicit `maxTokens`, else the generation's), if any. */
  readonly maxTokens?: number;
}

/** A constraint as a logits processor, with queries for tools and other strategies (ASAp, CLI). */
export interface ConstraintProcessor extends LogitsProcessor<ConstraintState> {
  /**
   * Upper bound on the fewest tokens of a complete output (spelled with single-byte tokens, EOS not
   * counted): budgeted generation is valid whenever maxTokens ≥ this.
   */
  readonly minimalTokens: number;
  /** Tokens allowed next (the budget applied when set), EOS included when the structure is complete. */
  allowedTokens(state: ConstraintState): number[];
  /** True when the text generated so far is a complete match. */
  isComplete(state: ConstraintState): boolean;
}

interface TokenMask {
  readonly tokens: Int32Array;
  readonly next: readonly Configuration[];
  /** minBytes of each next configuration. */
  readonly nextMinBytes: Float64Array;
}

interface CompiledConstraint {
  readonly recogniser: PushdownRecogniser;
  readonly index: VocabularyIndex;
  readonly masks: WeakMap<Configuration, TokenMask>;
  readonly transitions: WeakMap<Configuration, Map<number, Configuration | null>>;
}

const compiled = new WeakMap<Tokenizer, Map<string, CompiledConstraint>>();

/**
 * Most compiled constraints kept per tokenizer (least recently used dropped first), so a long-running
 * process that sees a new schema per request (a server) does not grow without bound.
 */
export const MAX_COMPILED_CONSTRAINTS = 64;

/**
 * Compiles (or reuses) a constraint for a tokenizer. Compilation is cached per (tokenizer, key), the
 * {@link MAX_COMPILED_CONSTRAINTS} most recently used per tokenizer; masks are cached per recogniser
 * configuration, so a constraint shared by many generations gets faster over time.
 */
export function compileConstraint(
  tokenizer: Tokenizer,
  key: string,
  build: () => { builder: GrammarBuilder; root: number },
  argument: string,
): CompiledConstraint {
  let byKey = compiled.get(tokenizer);
  if (!byKey) {
    byKey = new Map();
    compiled.set(tokenizer, byKey);
  }
  let constraint = byKey.get(key);
  if (constraint) {
    byKey.delete(key); // re-inserted below: Map order is recency order
  } else {
    const { builder, root } = build();
    const grammar = flattenGrammar(builder.rules, root, argument);
    const index = vocabularyIndex(tokenizer);
    const recogniser = new PushdownRecogniser(
      grammar,
      minimalRestLengths(grammar, index.singleBytes),
    );
    constraint = { recogniser, index, masks: new WeakMap(), transitions: new WeakMap() };
  }
  byKey.set(key, constraint);
  if (byKey.size > MAX_COMPILED_CONSTRAINTS) {
    const oldest = byKey.keys().next();
    if (!oldest.done) byKey.delete(oldest.value);
  }
  return constraint;
}

function tokenMask(constraint: CompiledConstraint, config: Configuration): TokenMask {
  let mask = constraint.masks.get(config);
  if (mask) return mask;
  const { index, recogniser } = constraint;
  const { childStart, edgeByte, edgeNode, tokenStart, tokenList } = index;
  const tokens: number[] = [];
  const next: Configuration[] = [];
  // Depth-first walk of the token trie alongside the recogniser; a dead byte prunes its whole subtree.
  const nodeStack: number[] = [0];
  const configStack: Configuration[] = [config];
  for (;;) {
    // The two stacks move together: both empty ends the walk.
    const node = nodeStack.pop();
    const current = configStack.pop();
    if (node === undefined || current === undefined) break;
    for (let edge = childStart[node]; edge < childStart[node + 1]; edge++) {
      const after = recogniser.step(current, edgeByte[edge]);
      if (!after) continue;
      const child = edgeNode[edge];
      for (let t = tokenStart[child]; t < tokenStart[child + 1]; t++) {
        tokens.push(tokenList[t]);
        next.push(after);
      }
      if (childStart[child] < childStart[child + 1]) {
        nodeStack.push(child);
        configStack.push(after);
      }
    }
  }
  mask = {
    tokens: Int32Array.from(tokens),
    next,
    nextMinBytes: Float64Array.from(next, c => c.minBytes),
  };
  constraint.masks.set(config, mask);
  return mask;
}

function tokenTransition(
  constraint: CompiledConstraint,
  config: Configuration,
  token: number,
): Configuration | null {
  let transitions = constraint.transitions.get(config);
  if (!transitions) {
    transitions = new Map();
    constraint.transitions.set(config, transitions);
  }
  let next = transitions.get(token);
  if (next === undefined) {
    const bytes = constraint.index.tokenBytes[token];
    next = bytes ? constraint.recogniser.walk(config, bytes) : null;
    transitions.set(token, next);
  }
  return next;
}

/**
 * Wraps a compiled grammar as a logits processor: a pure state machine (`advance` returns a new small
 * object and never mutates), so speculative trees and beams fork it at every node.
 */
export function constraintProcessor(
  name: string,
  constraint: CompiledConstraint,
  { tokenizer, maxTokens, eosTokenIds }: ConstraintOptions,
): ConstraintProcessor {
  const eos = [...(eosTokenIds ?? tokenizer.eosTokenIds)];
  const eosSet = new Set(eos);
  const start = constraint.recogniser.start;
  const minimalTokens = start.minBytes;
  if (maxTokens !== undefined) {
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new InvalidArgumentError({
        argument: 'maxTokens',
        message: `must be a positive integer, got ${maxTokens}.`,
      });
    }
    if (minimalTokens > maxTokens) {
      throw new InvalidArgumentError({
        argument: 'maxTokens',
        message:
          minimalTokens === Infinity
            ? `the tokenizer has no single-byte tokens to spell a complete "${name}" output, so no budget can be guaranteed; omit maxTokens.`
            : `${maxTokens} tokens cannot hold a complete "${name}" output; it needs up to ${minimalTokens} tokens (raise maxTokens).`,
      });
    }
  }

  const allowed = (state: ConstraintState): { tokens: number[]; reason: string } => {
    if (state.done)
      return { tokens: eos, reason: 'the structure is complete and the model has no EOS token' };
    const config = state.configuration;
    if (!config)
      throw new ConstraintViolationError({ constraint: name, tokenId: state.offendingToken ?? -1 });
    const mask = tokenMask(constraint, config);
    const limit = state.maxTokens ?? maxTokens;
    const budget = limit === undefined ? Infinity : limit - state.generated - 1;
    const tokens: number[] = [];
    for (let i = 0; i < mask.tokens.length; i++)
      if (mask.nextMinBytes[i] <= budget) tokens.push(mask.tokens[i]);
    if (config.accepting) for (const id of eos) tokens.push(id);
    const reason = config.accepting
      ? 'the structure is complete, nothing may follow, and the model has no EOS token'
      : mask.tokens.length === 0
        ? 'no token of the vocabulary spells a byte the constraint accepts next'
        : `no token keeps the structure closable within maxTokens = ${limit}`;
    return { tokens, reason };
  };

  return {
    name,
    minimalTokens,
    init(_prefix, context) {
      // An explicit maxTokens wins; otherwise the generation's budget (from the decoder) bounds the output,
      // when a complete output fits in it at all (else masking stays unbudgeted, as without a budget).
      const budget = maxTokens ?? context?.maxTokens;
      const usable =
        budget !== undefined && Number.isFinite(budget) && minimalTokens <= budget
          ? budget
          : undefined;
      return { configuration: start, generated: 0, done: false, maxTokens: maxTokens ?? usable };
    },
    advance(state, token) {
      const generated = state.generated + 1;
      if (state.done || !state.configuration) return { ...state, generated };
      const budget = state.maxTokens;
      if (eosSet.has(token) && state.configuration.accepting)
        return { configuration: state.configuration, generated, done: true, maxTokens: budget };
      const next = tokenTransition(constraint, state.configuration, token);
      return next
        ? { configuration: next, generated, done: false, maxTokens: budget }
        : { configuration: null, generated, done: false, offendingToken: token, maxTokens: budget };
    },
    process(logits, state) {
      const { tokens, reason } = allowed(state);
      if (tokens.length === 0)
        throw new ConstraintDeadEndError({ constraint: name, generated: state.generated, reason });
      const kept = new Float32Array(tokens.length);
      for (let i = 0; i < tokens.length; i++)
        kept[i] = tokens[i] < logits.length ? logits[tokens[i]] : -Infinity;
      logits.fill(-Infinity);
      for (let i = 0; i < tokens.length; i++)
        if (tokens[i] < logits.length) logits[tokens[i]] = kept[i];
    },
    allowedTokens: state => allowed(state).tokens,
    isComplete: state => state.done || (state.configuration?.accepting ?? false),
  };
}
