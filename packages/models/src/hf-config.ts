import type { HyperAttentionSettings } from './hyper-attention.js';
import type { CostTwinInfo } from './cost-twin.js';
import type { KvHeadCompressionReport } from './kv-head-compression.js';
import type { PruneReport } from './prune.js';
import { type LlamaConfig, headDimOf } from './llama-config.js';

/** The files of a model folder, by relative path (`onnx/model.onnx` is bytes, the JSON files are text). */
export type ModelFolderFiles = Record<string, Uint8Array | string>;

/** Extra facts recorded in config.json under `decodekit`. */
export interface DecodekitConfigInfo {
  /** `extended` when the graph has the decodekit extensions, `plain` otherwise. */
  readonly graph: 'plain' | 'extended';
  /** Where the weights came from, e.g. `llama2.c`, `seeded`. */
  readonly source: string;
  readonly name?: string;
  /** Set when the folder is a cost twin (the function of `twin.of` at the cost of `twin.parameters`). */
  readonly twin?: CostTwinInfo;
  /** Weight and I/O precision of a converter variant (absent: fp32). */
  readonly dtype?: string;
  /** How a `q8` variant quantizes activations (`per-row` or `per-tensor`). */
  readonly q8Activations?: string;
  /** File layout of a converter variant: `single`, `merged` or `split` (absent: single). */
  readonly layout?: string;
  /** False when the graph takes no `position_ids`. */
  readonly positionIds?: boolean;
  /** True when the graph takes `num_logits_to_keep`. */
  readonly logitsToKeep?: boolean;
  /** `group-query` when attention is com.microsoft GroupQueryAttention. */
  readonly attention?: string;
  /** Set when the KV heads were compressed (`convert --kv-heads N`): from/to heads and kept energy. */
  readonly kvHeadCompression?: KvHeadCompressionReport;
  /** Set when the layer projections were pruned (`convert --prune`): spec and resulting sparsity. */
  readonly prune?: PruneReport;
  /** Set when long prefills use HyperAttention (`convert --hyper-attention`): its settings. */
  readonly hyperAttention?: HyperAttentionSettings;
}

/** Version of the conversion output; cached conversions of another version are redone. */
export const CONVERTER_VERSION = 2;

/** Token ids of the llama2.c convention (BOS 1; stories are separated by BOS, so 1 and 2 both end one). */
export const LLAMA2C_SPECIAL_IDS = { bos: 1, eos: [1, 2], unk: 0 } as const;

/** A Hugging Face `LlamaConfig` JSON object for `config`. */
export function llamaConfigJson(
  config: LlamaConfig,
  info: DecodekitConfigInfo,
  ids: { bos?: number; eos: readonly number[] } = LLAMA2C_SPECIAL_IDS,
): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: config.vocabSize,
    hidden_size: config.dim,
    intermediate_size: config.hiddenDim,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: headDimOf(config),
    max_position_embeddings: config.contextLength,
    rms_norm_eps: config.rmsNormEps ?? 1e-5,
    rope_theta: config.ropeTheta ?? 10000,
    hidden_act: 'silu',
    tie_word_embeddings: config.tiedEmbeddings,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: ids.bos ?? null,
    eos_token_id: [...ids.eos],
    torch_dtype: 'float32',
    use_cache: true,
    decodekit: { ...info, converter: CONVERTER_VERSION },
  };
}

/** A `generation_config.json` object: greedy by default, stopping at every id in `eos`. */
export function generationConfigJson(
  ids: { bos?: number; eos: readonly number[] } = LLAMA2C_SPECIAL_IDS,
): Record<string, unknown> {
  return { bos_token_id: ids.bos ?? null, eos_token_id: [...ids.eos], do_sample: false };
}

/** Pretty JSON text with a trailing newline, as written into model folders. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
