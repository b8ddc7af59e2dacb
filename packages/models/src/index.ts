/**
 * @decodekit/models — browser-safe entry: llama2.c readers and converter, the ONNX graph builder, seeded
 * fixtures and the registry of known models. Node-only parts (resolver, folder writer) are in
 * `@decodekit/models/node`.
 */
export type { LlamaConfig, LlamaWeights } from './llama-config.js';
export { headDimOf } from './llama-config.js';
export type { Llama2cCheckpoint, Llama2cToken, Llama2cTokenizer } from './llama2c.js';
export { readLlama2cCheckpoint, readLlama2cTokenizer, writeLlama2cCheckpoint } from './llama2c.js';
export type { EmbeddingTable, GraphDtype, LlamaGraphOptions } from './graph-builder.js';
export type { ExternalData, GraphWriter } from './onnx-writer.js';
export type { CostTwinInfo, CostTwinPlan, TwinMlpLayer } from './cost-twin.js';
export {
  costTwinLabel,
  llamaParameterCount,
  parseTwinSize,
  planCostTwin,
  readCostTwinInfo,
  twinMlpLayer,
} from './cost-twin.js';
export { GRAPH_DTYPES, buildLlamaGraph, readEmbeddingTable } from './graph-builder.js';
export {
  hyperAttentionDepth,
  hyperAttentionSettings,
  hyperAttentionTables,
  parseHyperAttentionSpec,
} from './hyper-attention.js';
export type {
  HyperAttentionOptions,
  HyperAttentionSettings,
  HyperAttentionTables,
} from './hyper-attention.js';
export { hyperAttentionReference } from './hyper-attention-reference.js';
export type { ConvertLlama2cInput, ConvertedModel, GraphLayout } from './convert-llama2c.js';
export { GRAPH_LAYOUTS, convertLlama2c } from './convert-llama2c.js';
export type {
  CompressedKvHeads,
  KvHeadCompressionLayer,
  KvHeadCompressionOptions,
  KvHeadCompressionReport,
} from './kv-head-compression.js';
export { compressKvHeads } from './kv-head-compression.js';
export type { PruneReport, PruneSpec } from './prune.js';
export { formatPruneSpec, parsePruneSpec, pruneWeights } from './prune.js';
export type { LlamaReference, SampleSequencesOptions } from './llama-reference.js';
export {
  llamaReference,
  referencePerplexity,
  sampleReferenceSequences,
} from './llama-reference.js';
export type { DecodekitConfigInfo, ModelFolderFiles } from './hf-config.js';
export {
  CONVERTER_VERSION,
  LLAMA2C_SPECIAL_IDS,
  generationConfigJson,
  llamaConfigJson,
} from './hf-config.js';
export type { ScoredPiece } from './tokenizer-json.js';
export {
  llama2cTokenizerConfig,
  llama2cTokenizerJson,
  mergesFromScores,
} from './tokenizer-json.js';
export type { RandomLlamaOptions, TinyModelOptions } from './tiny-model.js';
export {
  buildRandomLlama,
  buildTinyModel,
  charVocabulary,
  randomLlamaWeights,
} from './tiny-model.js';
export type { NarRecognizer, NarRecognizerOptions } from './nar-fixture.js';
export { buildNarRecognizer } from './nar-fixture.js';
export type { SeededRandom } from './seeded-random.js';
export { seededRandom } from './seeded-random.js';
export type { KnownFile, KnownModel } from './known-models.js';
export { KNOWN_MODELS, findKnownModel } from './known-models.js';
export type { ByteSource } from './onnx-check.js';
export { checkOnnxStructure } from './onnx-check.js';
export type { HubId } from './hub-id.js';
export { isCommitHash, isHubId, parseHubId } from './hub-id.js';
export type { HubDtype, HubFileSelection, HubSibling, SelectHubFilesOptions } from './hub-files.js';
export { HUB_DTYPES, availableHubDtypes, parseHubDtype, selectHubFiles } from './hub-files.js';
export type { ExpectedDigest, HubConnection, HubRevision } from './hub-api.js';
export {
  DEFAULT_HUB_ENDPOINT,
  digestBytes,
  expectedDigest,
  fetchHubRevision,
  hubFileUrl,
  hubRevisionUrl,
} from './hub-api.js';
export type {
  HubCache,
  HubModelFiles,
  HubSourceFiles,
  ResolveHubFilesOptions,
} from './resolve-hub-files.js';
export { hubModelFiles, resolveHubFiles } from './resolve-hub-files.js';
export type {
  TreeAttentionOptions,
  TreeAttentionReport,
  TreeAttentionResult,
} from './tree-attention.js';
export { ATTENTION_BIAS_INPUT, addTreeAttention } from './tree-attention.js';
export type { Gpt2Config, Gpt2Weights, TinyGpt2Options } from './gpt2-graph.js';
export { buildGpt2Graph, buildTinyGpt2 } from './gpt2-graph.js';
export type {
  AttentionWeights,
  DecoderLayerWeights,
  EncoderLayerWeights,
  FeedForwardWeights,
  LayerNormWeights,
  Seq2SeqConfig,
  Seq2SeqDecoderKind,
  Seq2SeqModel,
  Seq2SeqModelOptions,
  Seq2SeqWeights,
} from './seq2seq-model.js';
export {
  SEQ2SEQ_SPECIAL_IDS,
  buildSeq2SeqDecoder,
  buildSeq2SeqEncoder,
  buildSeq2SeqModel,
  checkSeq2SeqConfig,
  randomSeq2SeqWeights,
  seq2seqConfigJson,
} from './seq2seq-model.js';
export type { Seq2SeqReference } from './seq2seq-reference.js';
export { seq2seqReference, seq2seqReferenceModel } from './seq2seq-reference.js';
export type { EtokGraphConfig, EtokGraphFiles } from './etok-graph.js';
export { buildEtokGraphs } from './etok-graph.js';
