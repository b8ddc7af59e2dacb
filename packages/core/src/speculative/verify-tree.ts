import { softmax } from '../processors/index.js';
import type { Verifier } from '../strategy.js';
import type { DraftTree, ForwardOutput, LogitsProcessor, RandomSource, Sampler } from '../types.js';

/** Input of `verifyTree`. */
export interface VerifyTreeInput {
  /**
   * The verification forward: row 0 is the pending token, row i + 1 is draft row i. Draft rows at or past
   * `output.logits.length / vocabSize - 1` were not run: accepting one ends the walk without a bonus token
   * (PEARL verifies the first token of the next draft against the last row this way).
   * logits: [forward rows, vocab]
   */
  readonly output: ForwardOutput;
  readonly tree: DraftTree;
  readonly vocabSize: number;
  /** The decoder's processor chain and its state after the pending token. */
  readonly processor: LogitsProcessor<unknown>;
  readonly processorState: unknown;
  readonly sampler: Sampler;
  readonly verifier: Verifier;
  /** The verification stream (the decoder's `context.random`). */
  readonly random: RandomSource;
}

/** What `verifyTree` decided. */
export interface VerifyTreeResult {
  /** Accepted draft rows, root to leaf. */
  readonly acceptedRows: number[];
  /** Their tokens. */
  readonly acceptedTokens: number[];
  /** The bonus (or recovered) token; undefined when the walk ended on an accepted row the forward did not run. */
  readonly bonus: number | undefined;
  /** Processor state after the accepted tokens (the bonus not included). */
  readonly processorState: unknown;
}

/**
 * The verification walk of speculative decoding (vLLM's rejection sampler, over a tree): from the root, the
 * processed target distribution at each node — the processor state advanced along that node's path, so
 * penalties and constraints see exactly the context plain decoding would — decides which child to accept,
 * until a node accepts none and a bonus token is drawn.
 *
 * Sample-and-match: when the draft rows carry no draft distribution (n-gram, copy, recycled and greedy
 * drafts) and the verifier is lossless, the engine draws the node's token exactly as autoregressive
 * decoding would (`sampler.sample`, one draw of `random` per emitted token) and accepts the child that
 * carries it. For a one-hot draft that is speculative sampling itself (accept x with probability p(x), else
 * draw from p without x), and because it spends the random stream exactly as autoregressive decoding does,
 * the output is the autoregressive output for the same seed at every temperature, whatever was drafted.
 * Drafts with q go through `verifier.step` (speculative sampling, recursive rejection, SpecTr, or a lossy
 * rule such as a judge, which may read per-row outputs such as hidden states from `output`).
 */
export function verifyTree(input: VerifyTreeInput): VerifyTreeResult {
  const { output, tree, vocabSize, processor, sampler, verifier, random } = input;
  const { logits } = output;
  const rows = tree.tokens.length;
  const forwardRows = Math.floor(logits.length / vocabSize);
  const children: number[][] = Array.from({ length: rows + 1 }, () => []);
  for (let i = 0; i < rows; i++) children[tree.parents[i] + 1].push(i + 1);
  const sampledDraft = tree.q !== undefined || tree.qDistributions !== undefined;
  const matchSample = verifier.lossless && (sampler.greedy || !sampledDraft);

  const acceptedRows: number[] = [];
  const acceptedTokens: number[] = [];
  let node = 0;
  let state = input.processorState;
  for (;;) {
    if (node >= forwardRows)
      return { acceptedRows, acceptedTokens, bonus: undefined, processorState: state };
    const row = logits.slice(node * vocabSize, (node + 1) * vocabSize);
    processor.process(row, state);
    const kids = children[node];
    const childTokens = kids.map(child => tree.tokens[child - 1]);
    let decision: number | { token: number };
    if (matchSample) {
      const token = sampler.sample(row, random);
      const index = childTokens.indexOf(token);
      decision = index >= 0 ? index : { token };
    } else if (kids.length === 0 && verifier.lossless) {
      decision = { token: sampler.sample(row, random) };
    } else {
      const q =
        tree.qDistributions && kids.length > 0
          ? qRow(tree.qDistributions, kids[0] - 1, vocabSize)
          : undefined;
      decision = verifier.step({
        probabilities: softmax(row),
        childTokens,
        q,
        greedy: sampler.greedy,
        random,
        node,
        childRows: kids,
        output,
      });
    }
    if (typeof decision === 'number') {
      node = kids[decision];
      const token = tree.tokens[node - 1];
      acceptedRows.push(node - 1);
      acceptedTokens.push(token);
      state = processor.advance(state, token);
      continue;
    }
    return { acceptedRows, acceptedTokens, bonus: decision.token, processorState: state };
  }
}

function qRow(qDistributions: Float32Array, row: number, vocabSize: number): Float32Array {
  return qDistributions.subarray(row * vocabSize, (row + 1) * vocabSize);
}
