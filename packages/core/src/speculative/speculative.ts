import { InvalidArgumentError } from '../errors.js';
import { softmax } from '../processors/index.js';
import { seededRandom } from '../sampling/index.js';
import type { Drafter, Strategy, StrategyContext, Verifier } from '../strategy.js';
import type { DraftTree } from '../types.js';
import { DraftLengthPolicy } from './draft-length-policy.js';
import { isChain, keepRows, shapeDraftTree } from './draft-tree.js';
import { rejectionSampling } from './verifiers.js';

/** Options of `speculative()`. */
export interface SpeculativeOptions {
  /** Proposes draft trees (PLD, Token Recycling, a draft model, ...). */
  drafter: Drafter;
  /** Decides acceptance. Default: rejection sampling, which is greedy match at temperature 0. */
  verifier?: Verifier;
  /** Most draft nodes verified per target forward. Default: the drafter's `preferredBudget`, else 16. Size it from the backend's cost curve. */
  budget?: number;
  /**
   * Hardware-aware draft sizing (default true): measure the backend's cost of a forward of k rows once, learn
   * how deep drafts get accepted, and cut each draft where the expected tokens per unit of forward cost
   * peak. It never changes the output, only the speed. Set false to verify every draft row the drafter gives.
   */
  adaptive?: boolean;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Speculative decoding: a drafter proposes a tree of tokens after the pending token, one target forward
 * scores the pending token and the whole tree, and the verifier walks the tree from the root, accepting
 * children while the processed target distribution agrees, then emits a bonus token.
 *
 * Exactness: the processed distribution at every visited node is computed with the processor state
 * advanced along that node's path, so penalties, n-gram bans and constraints see exactly the context plain
 * decoding would. With greedy match at temperature 0 the output is token-identical to autoregressive greedy.
 * Backends without tree attention verify the first-child chain of the tree.
 */
export function speculative({
  drafter,
  verifier = rejectionSampling(),
  budget = drafter?.preferredBudget ?? 16,
  adaptive = true,
}: SpeculativeOptions): Strategy {
  if (!drafter || typeof drafter.propose !== 'function') {
    throw new InvalidArgumentError({ argument: 'drafter', message: 'speculative() needs a drafter with a propose() method.' });
  }
  if (!Number.isInteger(budget) || budget < 1) {
    throw new InvalidArgumentError({ argument: 'budget', message: `must be a positive integer, got ${budget}.` });
  }
  // One policy per strategy instance: what it learns carries over between generations of a decoder.
  const policy = adaptive ? new DraftLengthPolicy() : undefined;
  return {
    kind: 'strategy',
    name: `speculative(${drafter.name})`,
    lossless: verifier.lossless,
    requires: drafter.requires,
    async run(context) {
      await drafter.begin?.({
        tokens: context.tokens,
        model: context.model,
        // An independent stream: drafts must never share random numbers with verification.
        random: seededRandom((context.seed ^ 0x5f3759df) >>> 0),
        temperature: context.temperature,
        signal: context.signal,
        warn: (code, message) => context.warn(code, message),
      });
      try {
        const room = context.model.info.contextLength - context.tokens.length + 1;
        if (policy && room > 1) {
          await policy.calibrate(
            context.sequence,
            context.tokens[context.tokens.length - 1],
            Math.min(budget + 1, room),
            context.signal,
            context.model,
          );
        }
        for (;;) {
          if (!(await step(context, drafter, verifier, budget, policy))) return;
        }
      } finally {
        await drafter.end?.();
      }
    },
  };
}

/** One draft-verify step. Returns false when generation is over. */
async function step(
  context: StrategyContext,
  drafter: Drafter,
  verifier: Verifier,
  budget: number,
  policy: DraftLengthPolicy | undefined,
): Promise<boolean> {
  const { model, processor, sampler, random } = context;
  const vocabSize = model.info.vocabSize;
  const treeCapable = model.capabilities.tree;
  const remaining = context.remaining();
  // Positions: the pending token sits at tokens.length - 1, a draft row of depth d at tokens.length - 1 + d.
  const maxDepth = Math.min(remaining, model.info.contextLength - context.tokens.length);
  // A forward holds the committed tokens, the pending token and every draft row: all must fit the context.
  const maxNodes = Math.max(0, Math.min(policy ? policy.nodeHint(budget) : budget, model.info.contextLength - context.tokens.length));
  const contextTokens = context.tokens.slice();

  const draftStart = now();
  const proposed = await drafter.propose({
    tokens: contextTokens,
    promptLength: context.promptLength,
    maxNodes,
    budget,
    remaining,
    treeCapable,
    greedy: sampler.greedy,
    signal: context.signal,
  });
  let tree: DraftTree =
    proposed && proposed.tokens.length > 0 && maxDepth > 0 && maxNodes > 0
      ? shapeDraftTree(proposed, { maxNodes, maxDepth, chainOnly: !treeCapable, vocabSize })
      : { tokens: new Int32Array(0), parents: new Int32Array(0) };
  // Cutting rows is always exact for drafts without q (each row is verified as a fixed draft) and at
  // temperature 0. Drafts sampled from q are verified as draws from q, so a cut that could depend on what
  // was drawn is not allowed there: such drafters get the budget up front and their tree is kept whole.
  const sampledDraft = !sampler.greedy && (tree.q !== undefined || tree.qDistributions !== undefined);
  if (policy && tree.tokens.length > 0) {
    const keep = policy.selectRows(tree.parents);
    if (!sampledDraft) tree = keepRows(tree, keep);
  }
  const draftMs = now() - draftStart;
  const rows = tree.tokens.length;
  if (rows > 0) context.report({ type: 'draft', tree });

  // Row 0 is the pending token; draft row i is forward row i + 1.
  const input = new Int32Array(rows + 1);
  input[0] = contextTokens[contextTokens.length - 1];
  input.set(tree.tokens, 1);
  let parents: Int32Array | undefined;
  if (rows > 0 && !isChain(tree.parents)) {
    parents = new Int32Array(rows + 1);
    parents[0] = -1;
    for (let i = 0; i < rows; i++) parents[i + 1] = tree.parents[i] + 1;
  }
  const verifyStart = now();
  const { logits } = await context.forward({ tokens: input, parents });

  const children: number[][] = Array.from({ length: rows + 1 }, () => []);
  for (let i = 0; i < rows; i++) children[tree.parents[i] + 1].push(i + 1);

  // Walk the tree with the processor state forked along the path.
  const acceptedRows: number[] = [];
  let node = 0;
  let state = context.processorState;
  let bonus: number;
  for (;;) {
    const row = logits.slice(node * vocabSize, (node + 1) * vocabSize);
    processor.process(row, state);
    const kids = children[node];
    const childTokens = kids.map(child => tree.tokens[child - 1]);
    let decision: number | { token: number };
    if (sampler.greedy && verifier.lossless) {
      // Greedy match (P1) on the processed logits, exactly as autoregressive greedy picks.
      const best = sampler.sample(row, random);
      const index = childTokens.indexOf(best);
      decision = index >= 0 ? index : { token: best };
    } else if (kids.length === 0 && !sampler.greedy) {
      decision = { token: sampler.sample(row, random) };
    } else {
      const q = tree.qDistributions ? qRow(tree, kids[0] - 1, vocabSize) : undefined;
      decision = verifier.step({ probabilities: softmax(row), childTokens, q, greedy: sampler.greedy, random });
    }
    if (typeof decision === 'number') {
      node = kids[decision];
      acceptedRows.push(node - 1);
      state = processor.advance(state, tree.tokens[node - 1]);
      continue;
    }
    bonus = decision.token;
    break;
  }
  const verifyMs = now() - verifyStart;

  context.sequence.commit([0, ...acceptedRows.map(row => row + 1)]);
  if (rows > 0) policy?.record(tree.parents, acceptedRows);
  const acceptedTokens = acceptedRows.map(row => tree.tokens[row]);
  context.report({ type: 'verify', acceptedRows, acceptedTokens, bonusToken: bonus });
  context.recordDraft({ proposed: rows, accepted: acceptedRows.length, draftMs, verifyMs });
  await drafter.observe?.({
    tokens: contextTokens,
    tree,
    acceptedRows,
    emitted: [...acceptedTokens, bonus],
    logits,
    vocabSize,
  });
  for (const token of acceptedTokens) if (!context.emit(token, 'draft')) return false;
  return context.emit(bonus, rows > 0 ? 'bonus' : 'target');
}

function qRow(tree: DraftTree, row: number, vocabSize: number): Float32Array | undefined {
  return tree.qDistributions?.subarray(row * vocabSize, (row + 1) * vocabSize);
}
