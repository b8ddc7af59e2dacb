import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type Drafter,
  type DraftTree,
  invariant,
} from '@decodekit/core';
import { HiddenFromLogits, matVec, siluInPlace, topIndices } from '@decodekit/core';
import { checkFspadWeights, type FspadWeights } from './fspad-weights.js';

/** Options of `fspad()`. */
export interface FspadOptions {
  /** The trained drafter (`parseFspadWeights` of a file written by `decodekit train fspad`). */
  weights: FspadWeights;
  /**
   * The target's LM head [vocab, hidden], also its token embedding (tied). Default:
   * `model.embeddingTable()`, present on models converted by decodekit.
   */
  lmHead?: Float32Array;
  /** Depth of the draft tree (drafter steps). Default 6. */
  depth?: number;
  /** Nodes expanded per depth, and children kept per expanded node (EAGLE-2's top_k). Default 4. */
  topK?: number;
  /** Draft tokens kept after the final rerank (EAGLE-2's total_tokens); also the preferred budget. Default 24. */
  totalTokens?: number;
}

interface Node {
  token: number;
  parent: number;
  depth: number;
  /** Cumulative log draft probability of the path. */
  score: number;
  /** The regressed feature of the step that drafted this node: the input of its own expansion. */
  feature: Float32Array;
}

const pseudoInverses = new WeakMap<Float32Array, HiddenFromLogits>();

const positiveInteger = (argument: string, value: number) => {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
};

/**
 * FSPAD (Gui et al., 2024, code: Luc4Gui/FSPAD): an EAGLE-style feature drafter with two changes.
 * Feature sampling: after `fc([e; f])` a gated MLP whose gate reads the token embedding e,
 * z + down(SiLU(gate(e)) ⊙ up(RMSNorm(z))), samples the feature with the token. Partial alignment: the last
 * block outputs two halves, [z; z] + down(SiLU(gate(n)) ⊙ up(n)); the first feeds the LM head (trained on
 * the token loss), the second regresses the target's next feature (SmoothL1) and is what the next drafter
 * step reads, so the token objective and the feature objective no longer compete for one vector.
 * Drafting, the EAGLE-2 dynamic tree and verification are as in `@decodekit/strategy-eagle`; like that
 * package the drafter has no attention layer (see the README). Exact: rows carry no draft distribution.
 */
export function fspad({
  weights,
  lmHead,
  depth = 6,
  topK = 4,
  totalTokens = 24,
}: FspadOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'fspad() needs a trained drafter: parseFspadWeights(file contents).',
    });
  checkFspadWeights(weights);
  positiveInteger('depth', depth);
  positiveInteger('topK', topK);
  positiveInteger('totalTokens', totalTokens);
  const { vocabSize, hiddenSize, innerSize, tensors } = weights;
  const H = hiddenSize;
  const I = innerSize;
  const input = new Float32Array(2 * H);
  const normed = new Float32Array(H);
  const gate = new Float32Array(I);
  const up = new Float32Array(I);
  const down = new Float32Array(2 * H);
  const logits = new Float32Array(vocabSize);

  let table: Float32Array | undefined;
  /** The target's embedding table, read in `begin`. */
  const embeddings = (): Float32Array => {
    invariant(
      table !== undefined,
      'the drafter reads the embedding table in begin() before it drafts',
    );
    return table;
  };
  let recovery: HiddenFromLogits | undefined;
  let state: { hidden: Float32Array; length: number } | undefined;

  const rmsNorm = (x: Float32Array, weight: Float32Array) => {
    let sum = 0;
    for (let i = 0; i < H; i++) sum += x[i] * x[i];
    const scale = 1 / Math.sqrt(sum / H + 1e-6);
    for (let i = 0; i < H; i++) normed[i] = x[i] * scale * weight[i];
    return normed;
  };

  /** One drafter step: the LM-head half and the regressed feature after `token`, given the feature before it. */
  const step = (
    feature: Float32Array,
    token: number,
  ): { head: Float32Array; feature: Float32Array } => {
    const embedding = embeddings().subarray(token * H, (token + 1) * H);
    input.set(embedding, 0);
    input.set(feature, H);
    const z = matVec(
      tensors['fc.weight'],
      H,
      2 * H,
      input,
      new Float32Array(H),
      tensors['fc.bias'],
    );
    // Feature sampling: the gate reads the token embedding.
    siluInPlace(matVec(tensors['emlp.gate'], I, H, embedding, gate));
    matVec(tensors['emlp.up'], I, H, rmsNorm(z, tensors.norm1), up);
    for (let i = 0; i < I; i++) gate[i] *= up[i];
    matVec(tensors['emlp.down'], H, I, gate, down);
    for (let i = 0; i < H; i++) z[i] += down[i];
    // Partial alignment: [z; z] + down(SiLU(gate(n)) ⊙ up(n)), split into the LM-head half and the regressed half.
    const n = rmsNorm(z, tensors.norm2);
    siluInPlace(matVec(tensors['mlp.gate'], I, H, n, gate));
    matVec(tensors['mlp.up'], I, H, n, up);
    for (let i = 0; i < I; i++) gate[i] *= up[i];
    matVec(tensors['mlp.down'], 2 * H, I, gate, down);
    const head = new Float32Array(H);
    const next = new Float32Array(H);
    for (let i = 0; i < H; i++) {
      head[i] = z[i] + down[i];
      next[i] = z[i] + down[H + i];
    }
    return { head, feature: next };
  };

  /** The top-k next tokens after `feature` with their log probabilities. */
  const children = (feature: Float32Array): { token: number; logProbability: number }[] => {
    matVec(embeddings(), vocabSize, hiddenSize, feature, logits);
    let max = -Infinity;
    for (let i = 0; i < vocabSize; i++) if (logits[i] > max) max = logits[i];
    let total = 0;
    for (let i = 0; i < vocabSize; i++) total += Math.exp(logits[i] - max);
    const logNormalizer = max + Math.log(total);
    if (!Number.isFinite(logNormalizer)) return []; // a diverged feature drafts nothing
    return topIndices(logits, topK).map(token => ({
      token,
      logProbability: logits[token] - logNormalizer,
    }));
  };

  return {
    name: 'fspad',
    preferredBudget: totalTokens,
    begin({ model }) {
      table = lmHead ?? model.embeddingTable?.();
      if (!table) {
        throw new UnsupportedCapabilityError({
          capability: 'inputEmbeddings',
          backendId: model.capabilities.backendId,
          hint: 'FSPAD needs the target embedding / LM head: use a model converted by decodekit (its tied embedding table) or pass fspad({ lmHead }).',
        });
      }
      if (model.info.vocabSize !== vocabSize || table.length !== vocabSize * hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `were trained for ${weights.model} (vocab ${vocabSize}, hidden ${hiddenSize}); the target ${model.info.name} has vocab ${model.info.vocabSize} and an LM head of ${table.length} floats. Train a drafter for this model with \`decodekit train fspad --model ...\`.`,
        });
      }
      recovery = pseudoInverses.get(table);
      if (!recovery)
        pseudoInverses.set(table, (recovery = new HiddenFromLogits(table, vocabSize, hiddenSize)));
      state = undefined;
    },
    propose(context) {
      if (!state || state.length !== context.tokens.length || !table) return undefined;
      const limit = Math.min(totalTokens, context.maxNodes);
      if (limit < 1) return undefined;
      const nodes: Node[] = [];
      const root = step(state.hidden, context.tokens[context.tokens.length - 1]);
      let layer: number[] = [];
      for (const { token, logProbability } of children(root.head)) {
        layer.push(nodes.length);
        nodes.push({ token, parent: -1, depth: 1, score: logProbability, feature: root.feature });
      }
      for (let level = 2; level <= Math.min(depth, context.remaining); level++) {
        const expand = layer
          .slice()
          .sort((a, b) => nodes[b].score - nodes[a].score)
          .slice(0, topK);
        layer = [];
        for (const index of expand) {
          const parent = nodes[index];
          const drafted = step(parent.feature, parent.token);
          for (const { token, logProbability } of children(drafted.head)) {
            layer.push(nodes.length);
            nodes.push({
              token,
              parent: index,
              depth: level,
              score: parent.score + logProbability,
              feature: drafted.feature,
            });
          }
        }
      }
      // Rerank: best paths first; a child never scores above its parent, and ties go to the shallower node.
      const order = nodes
        .map((_, index) => index)
        .sort((a, b) => nodes[b].score - nodes[a].score || nodes[a].depth - nodes[b].depth || a - b)
        .slice(0, limit);
      const rowOf = new Map(order.map((index, row) => [index, row]));
      const tokens = new Int32Array(order.length);
      const parents = new Int32Array(order.length);
      order.forEach((index, row) => {
        const node = nodes[index];
        tokens[row] = node.token;
        parents[row] = node.parent < 0 ? -1 : (rowOf.get(node.parent) ?? row);
      });
      // A parent always precedes its children in `order` (scores are finite and never rise along a path).
      if (parents.some((parent, row) => parent >= row)) return undefined;
      return { tokens, parents } satisfies DraftTree;
    },
    observe({ tokens, acceptedRows, emitted, logits: forwardLogits, vocabSize: rowSize }) {
      if (!recovery) return;
      const row = acceptedRows.length > 0 ? acceptedRows[acceptedRows.length - 1] + 1 : 0;
      state = {
        hidden: recovery.recover(forwardLogits.subarray(row * rowSize, (row + 1) * rowSize)),
        length: tokens.length + emitted.length,
      };
    },
    end() {
      state = undefined;
    },
  };
}
