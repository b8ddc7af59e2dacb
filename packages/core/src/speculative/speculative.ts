import { InvalidArgumentError, UnsupportedCapabilityError, invariant } from '../errors.js';
import { seededRandom } from '../sampling/index.js';
import type { Drafter, DraftExtraRows, Strategy, StrategyContext, Verifier } from '../strategy.js';
import type { CausalLM, DraftTree, ForwardInput, ForwardOutput } from '../types.js';
import { DraftLengthPolicy } from './draft-length-policy.js';
import { isChain, keepRows, shapeDraftTree, treeDepths } from './draft-tree.js';
import { draftSeed } from './draft-seed.js';
import { rejectionSampling } from './verifiers.js';
import { verifyTree } from './verify-tree.js';

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
   * peak. It never changes the distribution, only the speed. Set false to verify every draft row the
   * drafter gives.
   *
   * Seeded runs stay reproducible: drafts without q are verified by sample-and-match, whose output does not
   * depend on what was drafted; for drafts sampled from q, every sizing decision is a function of the
   * generation and of the cost curve, which is pinned (`costCurve`) or measured once per model and machine
   * and persisted by the backend (`CausalLM.costProfile`), never re-timed per run.
   */
  adaptive?: boolean;
  /**
   * Pins the cost curve of adaptive sizing: `costCurve[k]` = cost of a forward of k rows relative to one
   * row (k ≥ 1, non-decreasing; longer drafts extrapolate linearly). Skips the measurement.
   */
  costCurve?: ArrayLike<number>;
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
  costCurve,
}: SpeculativeOptions): Strategy {
  if (!drafter || typeof drafter.propose !== 'function') {
    throw new InvalidArgumentError({
      argument: 'drafter',
      message: 'speculative() needs a drafter with a propose() method.',
    });
  }
  if (!Number.isInteger(budget) || budget < 1) {
    throw new InvalidArgumentError({
      argument: 'budget',
      message: `must be a positive integer, got ${budget}.`,
    });
  }
  const pinned = costCurve === undefined ? undefined : checkCostCurve(costCurve);
  // One policy per strategy instance: what it learns carries over between generations of a decoder.
  const policy = adaptive ? new DraftLengthPolicy(pinned) : undefined;
  return {
    kind: 'strategy',
    name: `speculative(${drafter.name})`,
    lossless: verifier.lossless,
    requires: drafter.requires,
    async run(context) {
      await drafter.begin?.({
        tokens: context.tokens,
        ...(context.source === undefined ? {} : { source: context.source }),
        model: context.model,
        // An independent stream: drafts must never share random numbers with verification.
        random: seededRandom(draftSeed(context.seed)),
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
  const maxNodes = Math.max(
    0,
    Math.min(
      policy ? policy.nodeHint(budget) : budget,
      model.info.contextLength - context.tokens.length,
    ),
  );
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
  const sampledDraft =
    !sampler.greedy && (tree.q !== undefined || tree.qDistributions !== undefined);
  if (policy && tree.tokens.length > 0) {
    const keep = policy.selectRows(tree.parents);
    if (!sampledDraft) tree = keepRows(tree, keep);
  }
  const rows = tree.tokens.length;
  // Rows the drafter appends to this forward (never committed): one target forward verifies this tree and
  // computes the next draft.
  const extra = treeCapable
    ? checkExtraRows(
        drafter.extend?.({
          tokens: contextTokens,
          tree,
          maxRows: Math.max(0, model.info.contextLength - context.tokens.length - rows),
          maxDepth: model.info.contextLength - context.tokens.length,
          greedy: sampler.greedy,
          signal: context.signal,
        }),
        { tree, model, contextLength: model.info.contextLength, tokens: contextTokens },
      )
    : undefined;
  // The next step's sizing prices its tree on top of the rows the drafter appends (they ride every forward).
  if (treeCapable) policy?.noteExtraRows(extra?.tokens.length ?? 0);
  const draftMs = now() - draftStart;
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
  const hidden = verifier.needsHidden && rows > 0 ? true : undefined;
  const fullOutput = extra
    ? await context.forward({ ...withExtraRows(input, parents, extra, model), hidden })
    : await context.forward({ tokens: input, parents, hidden });
  // The verifier and the drafter's `logits` see the verified rows only; extra rows come back apart.
  const output = extra ? verifiedRows(fullOutput, rows + 1, vocabSize) : fullOutput;
  const { acceptedRows, acceptedTokens, bonus } = verifyTree({
    output,
    tree,
    vocabSize,
    processor,
    processorState: context.processorState,
    sampler,
    verifier,
    random,
  });
  // Every draft row had logits in this forward, so the walk always ends on a bonus token.
  invariant(bonus !== undefined, 'the verification walk ended without a bonus token');
  const verifyMs = now() - verifyStart;

  context.sequence.commit([0, ...acceptedRows.map(row => row + 1)]);
  if (rows > 0) policy?.record(tree.parents, acceptedRows);
  context.report({ type: 'verify', acceptedRows, acceptedTokens, bonusToken: bonus });
  context.recordDraft({ proposed: rows, accepted: acceptedRows.length, draftMs, verifyMs });
  await drafter.observe?.({
    tokens: contextTokens,
    tree,
    acceptedRows,
    emitted: [...acceptedTokens, bonus],
    logits: output.logits,
    vocabSize,
    ...(extra ? { extraLogits: fullOutput.logits.subarray((rows + 1) * vocabSize) } : {}),
  });
  for (const token of acceptedTokens) if (!context.emit(token, 'draft')) return false;
  return context.emit(bonus, rows > 0 ? 'bonus' : 'target');
}

/**
 * Checks a drafter's extra rows against the verified tree and the context; undefined when there are none.
 * Their depths must fit the context (`maxDepth` of the extend context) and so must their count.
 */
function checkExtraRows(
  extra: DraftExtraRows | undefined,
  {
    tree,
    model,
    contextLength,
    tokens,
  }: { tree: DraftTree; model: CausalLM; contextLength: number; tokens: readonly number[] },
): DraftExtraRows | undefined {
  if (!extra || extra.tokens.length === 0) return undefined;
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ argument: 'extend', message });
  };
  const count = extra.tokens.length;
  const verified = tree.tokens.length + 1;
  if (extra.parents.length !== count)
    fail(`tokens (${count}) and parents (${extra.parents.length}) differ in length.`);
  if (verified + count > contextLength - tokens.length + 1)
    fail(`${count} extra rows do not fit the context (at most maxRows).`);
  const { vocabSize, hiddenSize } = model.info;
  if (extra.embeddings && extra.embeddings.length !== count * hiddenSize)
    fail(
      `embeddings hold ${extra.embeddings.length} floats; ${count} rows need ${count * hiddenSize}.`,
    );
  // Depth in the forward: the pending token is 0, a tree row of depth d is d.
  const depths = new Int32Array(verified + count);
  const treeDepth = treeDepths(tree.parents);
  depths.set(treeDepth, 1);
  for (let j = 0; j < count; j++) {
    const row = verified + j;
    const parent = extra.parents[j];
    const token = extra.tokens[j];
    if (!Number.isInteger(parent) || parent < -1 || parent >= row)
      fail(`extra row ${j} has parent ${parent}; parents must precede their children.`);
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize)
      fail(`extra row ${j} names token ${token}, outside the vocabulary (${vocabSize}).`);
    depths[row] = parent < 0 ? 0 : depths[parent] + 1;
    if (depths[row] > contextLength - tokens.length)
      fail(`extra row ${j} sits at depth ${depths[row]}, past the context (at most maxDepth).`);
  }
  return extra;
}

/** The verification forward's input with extra rows appended (embeddings for every row when they carry any). */
function withExtraRows(
  input: Int32Array,
  parents: Int32Array | undefined,
  extra: DraftExtraRows,
  model: CausalLM,
): ForwardInput {
  const verified = input.length;
  const count = extra.tokens.length;
  const tokens = new Int32Array(verified + count);
  tokens.set(input);
  tokens.set(extra.tokens, verified);
  const allParents = new Int32Array(verified + count);
  if (parents) allParents.set(parents);
  else for (let i = 0; i < verified; i++) allParents[i] = i - 1;
  allParents.set(extra.parents, verified);
  if (!extra.embeddings) return { tokens, parents: allParents };
  const table = model.capabilities.inputEmbeddings ? model.embeddingTable?.() : undefined;
  if (!table) {
    throw new UnsupportedCapabilityError({
      capability: 'inputEmbeddings',
      backendId: model.capabilities.backendId,
      hint: 'the drafter appends rows by input embeddings: load a model whose graph takes inputs_embeds (converted by decodekit).',
    });
  }
  const { hiddenSize } = model.info;
  const embeddings = new Float32Array((verified + count) * hiddenSize);
  for (let i = 0; i < verified; i++)
    embeddings.set(
      table.subarray(input[i] * hiddenSize, (input[i] + 1) * hiddenSize),
      i * hiddenSize,
    );
  embeddings.set(extra.embeddings, verified * hiddenSize);
  return { tokens, parents: allParents, embeddings };
}

/** The first `rows` rows of a forward's output. */
function verifiedRows(output: ForwardOutput, rows: number, vocabSize: number): ForwardOutput {
  const total = output.logits.length / vocabSize;
  const logits = output.logits.subarray(0, rows * vocabSize);
  if (!output.hidden) return { ...output, logits };
  const width = output.hidden.length / total;
  return { ...output, logits, hidden: output.hidden.subarray(0, rows * width) };
}

function checkCostCurve(curve: ArrayLike<number>): Float64Array {
  const costs = Float64Array.from(curve);
  const valid =
    costs.length >= 2 &&
    costs.every(
      (value, k) => Number.isFinite(value) && value > 0 && (k < 2 || value >= costs[k - 1]),
    );
  if (!valid) {
    throw new InvalidArgumentError({
      argument: 'costCurve',
      message:
        'must list the relative cost of a forward of k rows for k = 0, 1, 2, ... (finite, positive, non-decreasing from k = 1), e.g. [1, 1, 1.1, 1.2].',
    });
  }
  return costs;
}
