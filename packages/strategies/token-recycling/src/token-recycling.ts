import { InvalidArgumentError } from '@decodekit/core';
import type { DraftContext, DraftTree, Drafter, VerifyResult } from '@decodekit/core';
import { AdjacencyMatrix } from './adjacency-matrix.js';
import { TREE_TEMPLATE_2_2_2, compileTreeTemplate } from './tree-template.js';
import type { TreeTemplate } from './tree-template.js';

/** Options of `tokenRecycling()`. */
export interface TokenRecyclingOptions {
  /** Candidates kept per token (`--output-id-topk`). Default 8. Template ranks must be below it. */
  topK?: number;
  /**
   * Static tree template: rank paths from the root, e.g. `[0, 1]`. Default: the paper's 80-node "2.2.2"
   * template (its nodes with a rank ≥ topK dropped when topK < 8). Sorted breadth-first; each step uses
   * the first `maxNodes` nodes that can be filled.
   */
  template?: TreeTemplate;
  /**
   * Keep the candidate matrix across generations (default true, as the official code never resets it):
   * later requests start warm. Set false to start every generation cold.
   */
  persist?: boolean;
}

/** A Token Recycling drafter with its state exposed for inspection and benchmarks. */
export interface TokenRecyclingDrafter extends Drafter {
  readonly name: 'token-recycling';
  /** Bytes of state held now (0 before the first generation allocates the matrix). */
  stateBytes(): number;
  /** Forgets every recorded candidate row. */
  reset(): void;
  /** Candidates of `token`, best first, or undefined when its row was never filled. For tests and tools. */
  candidatesOf(token: number): number[] | undefined;
}

function positiveInteger(value: number, argument: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
  }
}

/**
 * Token Recycling (Luo et al., 2024, "Turning Trash into Treasure", https://arxiv.org/abs/2408.08696;
 * official code Luowaterbi/TokenRecycling). Every target forward already ranks the whole vocabulary
 * at every row; Token Recycling keeps each fed token's top-k next tokens in an adjacency matrix
 * [vocab, k] and drafts by expanding a static tree template breadth-first from the last token:
 * node token = candidates(parent token)[rank]. After each verification, every forward row r (the
 * pending token and every draft row, accepted or not) overwrites the row of the token fed at r with
 * the top-k of its raw logits. Train-free, no draft model, ~1 MB of state for a 32k vocabulary.
 *
 * Lossless under `speculative()`'s verifiers (greedy match at temperature 0; at T > 0 its drafts are
 * deterministic, so the engine's rejection verifier accepts each child with the target's residual
 * probability — an SDK extension: the paper's code is greedy only).
 *
 * @example
 * const decoder = createDecoder({ model }).use(speculative({ drafter: tokenRecycling(), budget: 80 }));
 */
export function tokenRecycling(options: TokenRecyclingOptions = {}): TokenRecyclingDrafter {
  const { topK = 8, persist = true } = options;
  positiveInteger(topK, 'topK');
  // The default template is cut to the ranks that exist (prefix-closed: a path's prefixes have smaller or
  // equal ranks); an explicit template must fit topK.
  const template =
    options.template ?? TREE_TEMPLATE_2_2_2.filter(path => path.every(rank => rank < topK));
  const compiled = compileTreeTemplate(template, topK);
  // Per-step scratch, sized once: token of each template node (-1 = not drafted) and its draft row.
  const nodeToken = new Int32Array(compiled.size);
  const nodeRow = new Int32Array(compiled.size);
  let matrix: AdjacencyMatrix | undefined;

  function expand(
    root: number,
    maxNodes: number,
    treeCapable: boolean,
    maxDepth: number,
  ): DraftTree | undefined {
    if (!matrix) return undefined;
    if (!treeCapable) {
      // A chain backend verifies only the first-child path: follow the best candidate.
      const length = Math.min(maxNodes, maxDepth, compiled.maxDepth);
      const chain: number[] = [];
      for (let token = root; chain.length < length;) {
        token = matrix.get(token, 0);
        if (token < 0) break;
        chain.push(token);
      }
      if (chain.length === 0) return undefined;
      return { tokens: Int32Array.from(chain), parents: Int32Array.from(chain, (_, i) => i - 1) };
    }
    // Breadth-first over the template: parents precede children, so one pass fills every level.
    let rows = 0;
    const { parents, ranks, depths, size } = compiled;
    for (let node = 0; node < size; node++) {
      nodeToken[node] = -1;
      nodeRow[node] = -1;
      if (rows >= maxNodes || depths[node] > maxDepth) continue;
      const parent = parents[node];
      const parentToken = parent < 0 ? root : nodeToken[parent];
      if (parentToken < 0) continue;
      const token = matrix.get(parentToken, ranks[node]);
      if (token < 0) continue;
      nodeToken[node] = token;
      nodeRow[node] = rows++;
    }
    if (rows === 0) return undefined;
    const tokens = new Int32Array(rows);
    const treeParents = new Int32Array(rows);
    for (let node = 0; node < size; node++) {
      const row = nodeRow[node];
      if (row < 0) continue;
      tokens[row] = nodeToken[node];
      treeParents[row] = parents[node] < 0 ? -1 : nodeRow[parents[node]];
    }
    return { tokens, parents: treeParents };
  }

  return {
    name: 'token-recycling',
    begin({ model }) {
      const { vocabSize } = model.info;
      if (topK > vocabSize) {
        throw new InvalidArgumentError({
          argument: 'topK',
          message: `is ${topK} but the model's vocabulary has only ${vocabSize} tokens.`,
        });
      }
      if (!matrix || matrix.vocabSize !== vocabSize) matrix = new AdjacencyMatrix(vocabSize, topK);
      else if (!persist) matrix.clear();
    },
    propose(context: DraftContext) {
      const root = context.tokens[context.tokens.length - 1];
      return expand(root, context.maxNodes, context.treeCapable, context.remaining);
    },
    observe(result: VerifyResult) {
      const { tree, logits, vocabSize } = result;
      if (!matrix || matrix.vocabSize !== vocabSize) matrix = new AdjacencyMatrix(vocabSize, topK);
      // Row 0 is the pending token; row i + 1 is draft row i. Later rows win when a token repeats.
      matrix.record(result.tokens[result.tokens.length - 1], logits, 0);
      for (let row = 0; row < tree.tokens.length; row++)
        matrix.record(tree.tokens[row], logits, (row + 1) * vocabSize);
    },
    stateBytes: () => (matrix ? matrix.byteLength : 0) + nodeToken.byteLength + nodeRow.byteLength,
    reset() {
      matrix?.clear();
    },
    candidatesOf(token) {
      if (!matrix || !matrix.filled[token]) return undefined;
      return Array.from(matrix.candidates.subarray(token * topK, (token + 1) * topK));
    },
  };
}
