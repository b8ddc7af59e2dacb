import {
  InvalidArgumentError,
  softmax,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';

/** Options of `asap()`. */
export interface AsapOptions {
  /**
   * The grammar as a masking logits processor (e.g. `grammar()`, `regex()` or `jsonSchema()` of
   * @decodekit/strategy-constrained): tokens it sets to -Infinity are ungrammatical. Do not also add it
   * with `decoder.use()`: ASAp applies it itself, after reading the unmasked probabilities.
   */
  constraint: LogitsProcessor<unknown>;
}

/** A node of the prefix trie: one generated prefix. */
interface TrieNode {
  /** Probability of this node's token after its parent's prefix, under the unmasked processed model. */
  readonly probability: number;
  /** Expected future grammaticality estimate θ (1 until explored). */
  theta: number;
  /** Children for every grammatical next token, created on the first visit. */
  children?: Map<number, TrieNode>;
  /** The token ended a complete sample (EOS): θ stays 1. */
  terminal: boolean;
}

/** ASAp as a strategy, with its trie exposed for inspection and tests. */
export interface AsapStrategy extends Strategy {
  /** θ(prefix) for a prompt and the generated tokens after it: 1 when that prefix was never explored. */
  expectedGrammaticality(prompt: readonly number[], generated: readonly number[]): number;
  /** Samples drawn so far (completed generations). */
  readonly samples: number;
  /** Forgets every estimate (back to plain grammar-constrained decoding). */
  reset(): void;
}

/**
 * ASAp — Adaptive Sampling with Approximate expected futures (Park et al., 2024, "Grammar-Aligned Decoding",
 * https://arxiv.org/abs/2405.21047; official code ebmoon/transformers-GAD, oracle_trie.py). Plain grammar-
 * constrained decoding (masking) samples ∏ p(t | prefix) / Σ_allowed p — biased away from the model's
 * distribution conditioned on grammaticality. ASAp keeps, across samples, a trie of generated prefixes with
 * θ(prefix) ≈ P(grammatical completion | prefix), initialised to 1, and samples
 * t ∝ p(t | prefix) · θ(prefix + t) over the grammatical tokens. After each sample it sets, from the leaf up,
 * θ(node) = Σ_children p(child) · θ(child) (ungrammatical tokens count 0). The sampler's distribution
 * converges to p(· | grammatical) as samples accumulate. Keep one strategy object across generations: the
 * trie is its state (one root per prompt).
 *
 * @example
 * const sampler = asap({ constraint: grammar(source, { tokenizer }) });
 * const decoder = createDecoder({ model }).use(sampler);
 * for (let i = 0; i < 100; i++) samples.push((await decoder.generate(prompt, { temperature: 1, seed: i })).text);
 */
export function asap({ constraint }: AsapOptions): AsapStrategy {
  if (
    !constraint ||
    typeof constraint.process !== 'function' ||
    typeof constraint.advance !== 'function'
  ) {
    throw new InvalidArgumentError({
      argument: 'constraint',
      message:
        'asap() needs a masking logits processor (e.g. grammar() from @decodekit/strategy-constrained).',
    });
  }
  let roots = new Map<string, TrieNode>();
  let samples = 0;
  const rootOf = (prompt: readonly number[]): TrieNode => {
    const key = prompt.join(',');
    let root = roots.get(key);
    if (!root) {
      root = { probability: 1, theta: 1, terminal: false };
      roots.set(key, root);
    }
    return root;
  };
  const update = (path: readonly TrieNode[]): void => {
    for (let i = path.length - 1; i >= 0; i--) {
      const node = path[i];
      if (node.terminal || !node.children) continue;
      let theta = 0;
      for (const child of node.children.values()) theta += child.probability * child.theta;
      node.theta = theta;
    }
  };

  return {
    kind: 'strategy',
    name: 'asap',
    lossless: false,
    get samples() {
      return samples;
    },
    reset() {
      roots = new Map();
      samples = 0;
    },
    expectedGrammaticality(prompt, generated) {
      let node: TrieNode | undefined = roots.get(prompt.join(','));
      for (const token of generated) node = node?.children?.get(token);
      return node?.theta ?? 1;
    },
    async run(context) {
      const { sequence, processor, sampler, random, model } = context;
      const vocab = model.info.vocabSize;
      const eos = new Set(model.info.eosTokenIds);
      const prompt = context.tokens.slice(0, context.promptLength);
      const path: TrieNode[] = [rootOf(prompt)];
      let state = constraint.init(context.tokens);
      const input = new Int32Array(1);
      try {
        for (;;) {
          input[0] = context.tokens[context.tokens.length - 1];
          const { logits } = await context.forward({ tokens: input });
          sequence.commit([0]);
          const row = logits.slice(0, vocab);
          processor.process(row, context.processorState);
          const probabilities = softmax(row); // unmasked: the model's own p(t | prefix)
          const masked = row.slice();
          const node = path[path.length - 1];
          try {
            constraint.process(masked, state);
          } catch (error) {
            node.theta = 0; // a dead end: no grammatical continuation from this prefix
            throw error;
          }
          if (!node.children) {
            node.children = new Map();
            for (let t = 0; t < vocab; t++) {
              if (masked[t] === -Infinity || probabilities[t] === 0) continue;
              node.children.set(t, {
                probability: probabilities[t],
                theta: 1,
                terminal: eos.has(t),
              });
            }
          }
          const weights = new Float32Array(vocab).fill(-Infinity);
          for (const [t, child] of node.children)
            if (child.theta > 0) weights[t] = Math.log(child.probability) + Math.log(child.theta);
          const token = sampler.sample(weights, random);
          const child = node.children.get(token);
          if (!child) {
            // Every grammatical continuation is known to fail: θ(node) = 0 and the sample cannot be completed.
            node.theta = 0;
            throw new InvalidArgumentError({
              argument: 'constraint',
              message: 'no grammatical continuation has any probability under the model here.',
            });
          }
          path.push(child);
          state = constraint.advance(state, token);
          if (!context.emit(token, 'target')) break;
        }
      } finally {
        update(path);
        samples += 1;
      }
    },
  };
}
