import {
  DisposedError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  throwIfAborted,
  invariant,
} from '../errors.js';
import type {
  Capabilities,
  CausalLM,
  ForwardInput,
  ForwardOutput,
  ModelInfo,
  Sequence,
} from '../types.js';

/** Options of `mockModel`. */
export interface MockModelOptions {
  vocabSize: number;
  /** Next-token logits after `context` (every token so far). [vocab] */
  logits: (context: readonly number[]) => ArrayLike<number>;
  contextLength?: number;
  eosTokenIds?: readonly number[];
  bosTokenId?: number;
  /** Default true. */
  tree?: boolean;
  name?: string;
}

/** One recorded forward call. */
export interface MockForwardCall {
  prefixLength: number;
  tokens: number[];
  parents?: number[];
}

/** A CausalLM defined by a function of the context, for unit tests and exact distribution tests. */
export interface MockModel extends CausalLM {
  /** Every forward call, in order (as the AI SDK's mock model records calls). */
  readonly forwardCalls: MockForwardCall[];
}

/**
 * A pure TypeScript model whose logits are any function of the context. It honours the full Sequence
 * contract (trees, commit of a path, truncate, fork, dispose, abort), so strategies can be tested exactly
 * on enumerable toy distributions without ONNX.
 */
export function mockModel(options: MockModelOptions): MockModel {
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < 2) {
    throw new InvalidArgumentError({ argument: 'vocabSize', message: 'must be an integer ≥ 2.' });
  }
  const info: ModelInfo = {
    name: options.name ?? 'mock',
    vocabSize,
    contextLength: options.contextLength ?? 1024,
    bosTokenId: options.bosTokenId,
    eosTokenIds: options.eosTokenIds ?? [],
    numLayers: 1,
    hiddenSize: 1,
  };
  const capabilities: Capabilities = {
    tree: options.tree ?? true,
    hiddenStates: false,
    layerSkip: false,
    inputEmbeddings: false,
    backendId: 'mock',
  };
  const forwardCalls: MockForwardCall[] = [];
  let disposed = false;

  function createSequence(initial: readonly number[] = []): Sequence {
    const committed = [...initial];
    let last: { contexts: number[][]; tokens: number[] } | undefined;
    let alive = true;
    const check = (): void => {
      if (disposed) throw new DisposedError({ what: 'The mock model' });
      if (!alive) throw new DisposedError({ what: 'This sequence' });
    };
    const sequence: Sequence = {
      get tokens() {
        return committed;
      },
      async forward(input: ForwardInput, forwardOptions): Promise<ForwardOutput> {
        check();
        throwIfAborted(forwardOptions?.signal);
        const rows = input.tokens.length;
        if (rows === 0)
          throw new InvalidArgumentError({
            argument: 'tokens',
            message: 'forward needs at least one token.',
          });
        const parents = input.parents ?? Int32Array.from({ length: rows }, (_, i) => i - 1);
        const isChain = parents.every((parent, i) => parent === i - 1);
        if (!isChain && !capabilities.tree) {
          throw new UnsupportedCapabilityError({ capability: 'tree', backendId: 'mock' });
        }
        if (input.embeddings !== undefined) {
          throw new UnsupportedCapabilityError({
            capability: 'inputEmbeddings',
            backendId: 'mock',
            hint: 'mockModel computes logits from token ids only.',
          });
        }
        forwardCalls.push({
          prefixLength: committed.length,
          tokens: [...input.tokens],
          parents: input.parents ? [...input.parents] : undefined,
        });
        const contexts: number[][] = [];
        const logits = new Float32Array(rows * vocabSize);
        for (let r = 0; r < rows; r++) {
          const parent = parents[r];
          invariant(parent < r, 'parents precede children');
          const context =
            parent < 0 ? [...committed, input.tokens[r]] : [...contexts[parent], input.tokens[r]];
          if (context.length > info.contextLength) {
            throw new InvalidArgumentError({
              argument: 'tokens',
              message: 'beyond the mock context length.',
            });
          }
          contexts.push(context);
          logits.set(Array.from(options.logits(context)), r * vocabSize);
        }
        last = { contexts, tokens: [...input.tokens] };
        return { logits };
      },
      commit(rows) {
        check();
        if (rows.length === 0) {
          last = undefined;
          return;
        }
        invariant(last !== undefined, 'commit() needs a forward() first');
        const lastRow = rows[rows.length - 1];
        const context = last.contexts[lastRow];
        invariant(
          context.length === committed.length + rows.length,
          'commit rows must be one root-to-node path',
        );
        committed.push(...context.slice(committed.length));
        last = undefined;
      },
      truncate(length) {
        check();
        committed.length = Math.min(committed.length, length);
        last = undefined;
      },
      fork() {
        check();
        return createSequence(committed);
      },
      dispose() {
        alive = false;
      },
    };
    return sequence;
  }

  return {
    info,
    capabilities,
    forwardCalls,
    createSequence: () => {
      if (disposed) throw new DisposedError({ what: 'The mock model' });
      return createSequence();
    },
    async dispose() {
      disposed = true;
    },
  };
}
