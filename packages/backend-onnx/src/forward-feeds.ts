import { fillAttentionBias, fillDepths } from './attention-bias';
import { MAX_DEAD_SLOTS, type LedgerForward } from './kv-ledger';

/** Makes one input tensor of the runtime in use (onnxruntime-node or -web; host or device sessions). */
export type TensorFactory<TTensor> = (
  type: 'int64' | 'float32' | 'bool',
  data: BigInt64Array | Float32Array | Uint8Array,
  dims: readonly number[],
) => TTensor;

/** Which of decodekit's optional decoder inputs a graph has (docs/graph-io.md). */
export interface FeedLayout {
  readonly hasAttentionMask: boolean;
  readonly hasAttentionBias: boolean;
  readonly hasPositionIds: boolean;
  readonly hasSkipLayers: boolean;
}

/** The part of a forward the feeds depend on. */
export type FeedRows = Pick<
  LedgerForward,
  'tokens' | 'parents' | 'pastLength' | 'pastSlots' | 'pastMask' | 'skipLayers'
>;

/**
 * The inputs of a decoder forward besides its KV cache, shared by every ONNX engine: `input_ids`,
 * `attention_mask` (all ones: masked slots are masked through the bias), the additive `attention_bias` of a
 * tree or of dead slots, `position_ids` (prefix length + depth in the tree) and `skip_layers`. Buffers are
 * allocated once per model and reused, so {@link fill} must run inside the model's run queue.
 */
export class ForwardFeeds<TTensor> {
  private readonly inputIds: BigInt64Array;
  private readonly positionIds: BigInt64Array;
  /** All ones: every `attention_mask` is a prefix of it. */
  private readonly ones: BigInt64Array;
  /** All zeros: the attention bias of a one-row forward on an unmasked cache is a prefix of it. */
  private readonly zeros: Float32Array;
  private bias = new Float32Array(0);
  private readonly depths: Int32Array;
  private readonly noSkip: TTensor;

  constructor(
    contextLength: number,
    private readonly numLayers: number,
    private readonly tensor: TensorFactory<TTensor>,
  ) {
    this.inputIds = new BigInt64Array(contextLength);
    this.positionIds = new BigInt64Array(contextLength);
    // Dead slots can make the cache longer than the context by at most MAX_DEAD_SLOTS.
    this.ones = new BigInt64Array(contextLength + MAX_DEAD_SLOTS + 1).fill(1n);
    this.zeros = new Float32Array(contextLength + MAX_DEAD_SLOTS + 1);
    this.depths = new Int32Array(contextLength);
    this.noSkip = tensor('bool', new Uint8Array(numLayers), [numLayers]);
  }

  /**
   * Writes the inputs `layout` has for `forward` into `feeds` (tensors over the shared buffers); `input_ids`
   * only with `withInputIds` (a forward on `inputs_embeds` has none).
   */
  fill(
    feeds: Record<string, TTensor>,
    layout: FeedLayout,
    forward: FeedRows,
    withInputIds = true,
  ): void {
    const { tensor } = this;
    const { tokens, parents, pastLength, pastSlots, pastMask, skipLayers } = forward;
    const rows = tokens.length;
    const total = pastSlots + rows;
    if (withInputIds) {
      const inputIds = this.inputIds;
      for (let row = 0; row < rows; row++) inputIds[row] = BigInt(tokens[row]);
      feeds.input_ids = tensor('int64', inputIds.subarray(0, rows), [1, rows]);
    }
    if (layout.hasAttentionMask)
      feeds.attention_mask = tensor('int64', this.ones.subarray(0, total), [1, total]);
    const depths = this.depths.subarray(0, rows);
    if (layout.hasAttentionBias) {
      let bias: Float32Array;
      if (rows === 1 && pastMask === null) {
        bias = this.zeros.subarray(0, total);
        depths[0] = 0;
      } else {
        const size = rows * total;
        if (this.bias.length < size)
          this.bias = new Float32Array(Math.max(size, this.bias.length * 2));
        bias = this.bias.subarray(0, size);
        fillAttentionBias(bias, depths, pastSlots, parents, pastMask);
      }
      feeds.attention_bias = tensor('float32', bias, [1, 1, rows, total]);
    } else {
      fillDepths(depths, parents);
    }
    if (layout.hasPositionIds) {
      const positionIds = this.positionIds;
      for (let row = 0; row < rows; row++) positionIds[row] = BigInt(pastLength + depths[row]);
      feeds.position_ids = tensor('int64', positionIds.subarray(0, rows), [1, rows]);
    }
    if (layout.hasSkipLayers) {
      let skip = this.noSkip;
      if (skipLayers !== undefined && skipLayers.length > 0) {
        const flags = new Uint8Array(this.numLayers);
        for (const layer of skipLayers) flags[layer] = 1;
        skip = tensor('bool', flags, [this.numLayers]);
      }
      feeds.skip_layers = skip;
    }
  }
}
