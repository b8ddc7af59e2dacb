import {
  DraftSession,
  InvalidArgumentError,
  draftDistribution,
  fitDepth,
  sampledTree,
  invariant,
  sampleFromProbabilities,
  speculative,
} from '@decodekit/core';
import type {
  CapabilityName,
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  Strategy,
  Verifier,
} from '@decodekit/core';
import { kSeqSelect } from './k-seq.js';

/** Options of `spectrDrafter()` and `spectr()`. */
export interface SpectrOptions {
  /** The draft model. Must share the target's vocabulary. */
  model: CausalLM;
  /** Number of i.i.d. draft sequences (SpecTr's K). Default 4. k = 1 is speculative sampling. */
  k?: number;
  /** Tokens per draft sequence (SpecTr's L). Default 4. */
  draftLength?: number;
  /**
   * Temperature of the draft distribution q = softmax(logits / temperature). Default: the decoder's
   * temperature (1 when the decoder is greedy, where q is not used). 0 = greedy drafts (one-hot q).
   */
  temperature?: number;
  /** Layers the draft forwards skip (`capabilities.layerSkip`): draft with the target minus layers. */
  skipLayers?: readonly number[];
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** A SpecTr drafter and the K-SEQ verifier bound to its drafts. */
export interface SpectrDrafter extends Drafter {
  readonly name: 'spectr';
  /** The K-SEQ verifier that reads this drafter's draft multiplicities; pass it to `speculative()`. */
  readonly verifier: Verifier;
  /** Draft-model forward calls made so far. */
  readonly draftForwards: number;
}

/** One node of the current draft trie (row −1 = the context). */
interface TrieNode {
  /** Next tokens of the draft sequences through this node, in draft order (repeats kept). */
  drafts: number[];
  /** Draft distribution the next tokens were drawn from. [vocab] */
  q: Float32Array | undefined;
  /** Child row of each distinct next token. */
  child: Map<number, number>;
}

/**
 * SpecTr's drafter (Sun et al., 2023, https://arxiv.org/abs/2310.15141): the draft model samples k
 * independent sequences of `draftLength` tokens from q; sequences sharing a prefix share tree rows, so the
 * target verifies the union in one tree forward. The trie keeps, per node, the next token of every
 * sequence through it, which the bound K-SEQ `verifier` needs (multiplicities matter to K-SEQ).
 *
 * The draft model runs one tree forward per depth. The shape (k × draftLength ≤ the engine's budget) is
 * fixed before drafting, never cut by what was drawn: cutting by value would bias verification.
 */
export function spectrDrafter(options: SpectrOptions): SpectrDrafter {
  const {
    model,
    k = 4,
    draftLength = 4,
    temperature,
    skipLayers,
    seed = 0,
  } = options ?? ({} as SpectrOptions);
  DraftSession.validate({
    ...options,
    requires:
      k > 1
        ? [
            {
              capability: 'tree',
              hint: 'spectr drafts k > 1 sequences as one tree forward of the draft model; use k = 1 or a tree-capable draft model.',
            },
          ]
        : [],
  });
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidArgumentError({
      argument: 'k',
      message: `must be a positive integer, got ${k}.`,
    });
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${draftLength}.`,
    });
  }

  const session = new DraftSession(model, { skipLayers, temperature, seed });
  const vocab = model.info.vocabSize;
  let trie = new Map<number, TrieNode>();
  /** Trie node the verifier stands on (−1 = the root of the current draft). */
  let current = -1;

  const verifier: Verifier = {
    name: 'k-seq',
    lossless: true,
    step({ probabilities, childTokens, q, random: verifyRandom }) {
      const node = trie.get(current);
      const distinct = node ? [...node.child.keys()] : [];
      if (
        !node ||
        distinct.length !== childTokens.length ||
        childTokens.some(token => !node.child.has(token))
      ) {
        throw new InvalidArgumentError({
          argument: 'verifier',
          message:
            'the K-SEQ verifier must see every draft of its spectrDrafter, uncut. Use spectr(), or ' +
            'speculative({ drafter, verifier: drafter.verifier, adaptive: false }) with a budget ≥ k × draftLength.',
        });
      }
      const draftQ = node.q ?? q;
      invariant(draftQ !== undefined, 'the trie node or the verifier input carries q');
      const decision = kSeqSelect({
        probabilities,
        q: draftQ,
        drafts: node.drafts,
        random: verifyRandom,
      });
      if (typeof decision !== 'number') return decision;
      const token = node.drafts[decision];
      const child = node.child.get(token);
      invariant(child !== undefined, 'every draft token of a node is one of its children');
      current = child;
      return childTokens.indexOf(token);
    },
  };

  async function propose(
    context: DraftContext,
    k: number,
    draftTemperature: number,
  ): Promise<DraftTree | undefined> {
    trie = new Map();
    current = -1;
    const sequences = Math.min(k, context.maxNodes);
    const length = fitDepth(
      Math.min(draftLength, context.remaining, Math.floor(context.maxNodes / sequences)),
      levels => sequences * levels,
      {
        contextLength: context.tokens.length,
        draftContext: model.info.contextLength,
        targetContext: session.sampler.targetContext,
      },
    );
    if (length < 1) return undefined;
    const tokens: number[] = [];
    const parents: number[] = [];
    const distributions: Float32Array[] = [];
    const rootQ = await session.contextDistribution(
      context.tokens,
      draftTemperature,
      context.signal,
    );
    trie.set(-1, { drafts: [], q: rootQ, child: new Map() });
    /** Node each sequence stands on; −2 once it ended (EOS). */
    const at = new Int32Array(sequences).fill(-1);
    let logits: Float32Array | undefined;
    for (let depth = 1; depth <= length; depth++) {
      if (depth > 1) {
        logits = await session.treeLogits(
          Int32Array.from(tokens),
          Int32Array.from(parents),
          context.signal,
        );
      }
      for (let s = 0; s < sequences; s++) {
        const parent = at[s];
        if (parent === -2) continue;
        const node = trie.get(parent);
        invariant(node !== undefined, `trie row ${parent} was added before it is extended`);
        if (!node.q) {
          invariant(logits !== undefined, 'rows past the root were scored by treeLogits');
          node.q = draftDistribution(
            logits.subarray(parent * vocab, (parent + 1) * vocab),
            draftTemperature,
            new Float32Array(vocab),
          );
        }
        const token = sampleFromProbabilities(node.q, session.sampler.random);
        node.drafts.push(token);
        let row = node.child.get(token);
        if (row === undefined) {
          row = tokens.length;
          tokens.push(token);
          parents.push(parent);
          distributions.push(node.q);
          node.child.set(token, row);
          trie.set(row, { drafts: [], q: undefined, child: new Map() });
        }
        // Nothing after an end-of-sequence token can be emitted: that sequence ends there.
        at[s] = session.sampler.eos.has(token) ? -2 : row;
      }
      if (at.every(row => row === -2)) break;
    }
    return sampledTree(tokens, parents, distributions);
  }

  const requires: CapabilityName[] = k > 1 ? ['tree'] : [];
  return {
    name: 'spectr',
    providesProbabilities: true,
    requires,
    preferredBudget: k * draftLength,
    verifier,
    get draftForwards() {
      return session.forwards;
    },
    begin(context) {
      session.begin(context);
    },
    propose(context) {
      // Greedy decoding: the k sequences would all be the argmax chain; draft it once.
      if (session.sampler.deterministic(context)) return propose(context, 1, 0);
      return propose(context, k, session.sampler.temperature);
    },
    end() {
      session.end();
      trie = new Map();
    },
  };
}

/**
 * SpecTr (Sun et al., 2023, https://arxiv.org/abs/2310.15141) as one strategy: `spectrDrafter()` drafts k
 * i.i.d. sequences, the engine verifies their union tree in one target forward, and the drafter's K-SEQ
 * verifier selects among the drafts at every node. Lossless: the output follows the target exactly, and
 * at temperature 0 it is greedy decoding. The engine's adaptive draft cutting is off (it would cut by
 * the drawn tree's shape, which biases K-SEQ); the budget is k × draftLength.
 *
 * @example
 * const decoder = createDecoder({ model: target }).use(spectr({ model: draft, k: 4, draftLength: 4 }));
 */
export function spectr(options: SpectrOptions): Strategy {
  const drafter = spectrDrafter(options);
  const strategy = speculative({
    drafter,
    verifier: drafter.verifier,
    budget: (options.k ?? 4) * (options.draftLength ?? 4),
    adaptive: false,
  });
  return { ...strategy, name: `spectr(k=${options.k ?? 4}, L=${options.draftLength ?? 4})` };
}
