/**
 * The core contracts of decodekit (see DESIGN.md). Plain object types; concrete things are made by
 * factory functions. Tensor shapes are written as comments.
 */

/** Static facts about a causal language model. */
export interface ModelInfo {
  /** Human-readable name, e.g. `karpathy/tinyllamas/stories260K`. */
  readonly name: string;
  /** Number of rows of the logits (vocabulary size of the head). */
  readonly vocabSize: number;
  /** Maximum number of positions (prompt + generated) the model supports. */
  readonly contextLength: number;
  /** Beginning-of-sequence id, or undefined when the model has none. */
  readonly bosTokenId?: number;
  /** Ids that end generation. */
  readonly eosTokenIds: readonly number[];
  /** Transformer layers. */
  readonly numLayers: number;
  /** Width of the residual stream (size of one `hidden` row). */
  readonly hiddenSize: number;
}

/** What a model/backend can do beyond plain chain forwards. Strategies declare what they need. */
export interface Capabilities {
  /** One forward can verify a tree of tokens (`parents` in ForwardInput). */
  readonly tree: boolean;
  /** `forward({ hidden: true })` returns the final hidden states. */
  readonly hiddenStates: boolean;
  /** `forward({ skipLayers })` bypasses the listed layers. */
  readonly layerSkip: boolean;
  /**
   * `forward({ embeddings })` takes input embeddings in place of the rows' token embeddings (e.g. weighted
   * sums of embedding rows, as superposed decoding feeds). Absent = false.
   */
  readonly inputEmbeddings?: boolean;
  /** Id of the backend, e.g. `onnx-cpu`, `onnx-wasm`, `mock`. */
  readonly backendId: string;
}

/** Input of one forward call. */
export interface ForwardInput {
  /** New tokens placed after the committed prefix. [rows] */
  readonly tokens: Int32Array;
  /**
   * `parents[i]` is the row index (inside this call) of token i's parent, or -1 when the token attaches to
   * the committed prefix. Parents always precede their children. Omitted = a chain (parents[i] = i - 1).
   * [rows]
   */
  readonly parents?: Int32Array;
  /** Also return the final hidden states (needs `capabilities.hiddenStates`). */
  readonly hidden?: boolean;
  /** Layers to bypass in this call (needs `capabilities.layerSkip`). */
  readonly skipLayers?: readonly number[];
  /**
   * Input embeddings used in place of the rows' token embeddings (needs `capabilities.inputEmbeddings`);
   * `tokens` still name the rows (for `commit` bookkeeping). [rows, hiddenSize]
   */
  readonly embeddings?: Float32Array;
}

/** Output of one forward call. */
export interface ForwardOutput {
  /** Raw next-token logits for every input row. [rows, vocab] */
  readonly logits: Float32Array;
  /** Final hidden states when requested. [rows, hiddenSize] */
  readonly hidden?: Float32Array;
}

/** Options of one forward call. */
export interface ForwardOptions {
  readonly signal?: AbortSignal;
}

/**
 * The KV state of one token sequence. `forward` computes without committing; `commit` keeps the rows of
 * the last forward along one root-to-node path.
 */
export interface Sequence {
  /** Committed tokens (their KV is cached). */
  readonly tokens: readonly number[];
  /**
   * Runs the model on `input.tokens` placed after the committed prefix. Row r attends to the prefix, its
   * ancestors and itself, at position `prefixLength + depth(r)`. Nothing is committed.
   */
  forward(input: ForwardInput, options?: ForwardOptions): Promise<ForwardOutput>;
  /**
   * Keeps the rows of the last forward whose indices are given (in order, one root-to-node path) and drops
   * the rest. `commit([])` drops them all.
   */
  commit(rows: ArrayLike<number>): void;
  /** Drops committed tokens beyond `length`. */
  truncate(length: number): void;
  /** An independent copy of this sequence (copy-on-write where the backend can). */
  fork(): Sequence;
  /** Releases the sequence's memory. Any later use throws DisposedError. */
  dispose(): void;
}

/**
 * What the encoder of an encoder-decoder (seq2seq) model made of a source: the decoder's sequences attend to
 * it (cross-attention). Made once per request by {@link EncoderDecoder.encode}; every Sequence created from
 * it (and every fork of those) shares it, so the cross-attention keys and values are computed once.
 */
export interface Encoding {
  /** Source ids the encoder read. [sourceLength] */
  readonly tokens: readonly number[];
  /** The encoder's last hidden state. [sourceLength, hiddenSize] */
  readonly hidden: Float32Array;
}

/**
 * The encoder side of an encoder-decoder model (T5, BART, the encoder-decoder SLMs of "Return of the
 * Encoder", Elfeki et al., 2025): a prompt is encoded once, and decoding starts from
 * `decoderStartTokenId` in a Sequence created from that encoding (`createSequence({ encoding })`).
 */
export interface EncoderDecoder {
  /** The first decoder token (config.json's `decoder_start_token_id`). */
  readonly decoderStartTokenId: number;
  /** Longest source the encoder takes. */
  readonly maxSourceLength: number;
  /** Runs the encoder once over `tokens` (the source ids). [sourceLength] */
  encode(tokens: Int32Array, options?: ForwardOptions): Promise<Encoding>;
}

/** Options of {@link CausalLM.createSequence}. */
export interface CreateSequenceOptions {
  /** The source the decoder attends to: needed by encoder-decoder models, refused by decoder-only ones. */
  readonly encoding?: Encoding;
}

/** A causal language model behind one backend. */
export interface CausalLM {
  readonly info: ModelInfo;
  readonly capabilities: Capabilities;
  /**
   * An empty KV state. Encoder-decoder models (`encoderDecoder` set) need `options.encoding`: their
   * sequences hold decoder tokens and attend to that source.
   */
  createSequence(options?: CreateSequenceOptions): Sequence;
  /**
   * Present on encoder-decoder (seq2seq) models: the decoder loop encodes the prompt once with it and decodes
   * from `decoderStartTokenId` in a sequence created from the encoding. Absent on decoder-only models.
   */
  readonly encoderDecoder?: EncoderDecoder;
  /**
   * The token input-embedding table (row i = token i's embedding; the tied classifier of llama2.c models),
   * present when `capabilities.inputEmbeddings`. [vocab, hiddenSize]
   */
  embeddingTable?(): Float32Array;
  /**
   * Where this model's measured forward-cost curve persists (adaptive draft sizing): the backend's Node
   * entry stores it in the cache per model, backend, thread count and CPU, so the curve — and with it every
   * sizing decision — is the same in every run on a machine, whatever the load. Absent: measured once per
   * process.
   */
  readonly costProfile?: CostProfileStore;
  dispose(): Promise<void>;
}

/**
 * Persists a model's cost curve: `[k]` is the cost of a forward of k rows relative to one row (`[0]` and
 * `[1]` are 1). See `speculative({ costCurve })` to pin one instead.
 */
export interface CostProfileStore {
  /** The stored curve, or undefined when none is stored yet. */
  load(): Float64Array | undefined | Promise<Float64Array | undefined>;
  /** Stores a freshly measured curve (errors are the store's to swallow: a profile is an optimization). */
  save(costs: Float64Array): void | Promise<void>;
}

/** A message of a chat conversation. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | (string & {});
  readonly content: string;
}

/** Text ↔ ids. Implemented in core over @huggingface/tokenizers; mocks implement it in tests. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  /** Ids of `text`; `addSpecialTokens` (default true) prepends BOS the way the model was trained. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; special tokens are skipped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The token string of one id (as in the vocabulary), for debugging and display. */
  idToToken(id: number): string | undefined;
  /** Raw bytes the token stands for when decoded, or undefined for special tokens. */
  tokenBytes(id: number): Uint8Array | undefined;
  /** Renders a chat with the model's chat template (or decodekit's plain template when it has none). */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    options?: { addGenerationPrompt?: boolean },
  ): string;
}

/**
 * A logits processor: a pure state machine, so trees and beams can fork it. `advance` never mutates.
 * `process` edits the logits row in place (logit space; -Infinity bans a token).
 */
export interface LogitsProcessor<TState = unknown> {
  readonly name: string;
  /**
   * State after the given prefix (prompt + committed tokens). `context.maxTokens` is the generation's
   * budget — the most tokens it may still emit (maxTokens, cut to the context) — so budget-aware
   * processors (constraints that must close their structure in time) need no second copy of it.
   */
  init(prefix: readonly number[], context?: ProcessorInitContext): TState;
  /** State after appending `token`; must return a new state (or the same one when stateless). */
  advance(state: TState, token: number): TState;
  /** Edits `logits` [vocab] in place given `state`. */
  process(logits: Float32Array, state: TState): void;
}

/** What a processor learns about the generation when it starts (`LogitsProcessor.init`). */
export interface ProcessorInitContext {
  /** The most tokens the generation may emit after the prefix. Absent: unbounded or unknown. */
  readonly maxTokens?: number;
}

/** A deterministic or seeded source of uniform numbers in [0, 1). */
export interface RandomSource {
  next(): number;
  /** A copy in the same state. */
  clone(): RandomSource;
}

/** Picks one token from a processed logits row. */
export interface Sampler {
  readonly name: string;
  /** True when the sampler always takes the argmax (temperature 0). */
  readonly greedy: boolean;
  /** Returns a token id from `logits` [vocab]. */
  sample(logits: Float32Array, random: RandomSource): number;
}

/** Why a generation ended. */
export type FinishReason = 'eos' | 'stop' | 'length' | 'abort';

/** Statistics every strategy reports. */
export interface DecodeStats {
  promptTokens: number;
  generatedTokens: number;
  /** Target-model forward calls (prefill included). */
  forwardPasses: number;
  /** Milliseconds in the prefill forward. */
  prefillMs: number;
  /** Milliseconds after the prefill until the end. */
  decodeMs: number;
  /** Generated tokens per second of decode time. */
  tokensPerSecond: number;
  /** Mean tokens emitted per decode-time target forward (τ). 1 for autoregressive decoding. */
  meanAcceptedTokens: number;
  /** Accepted draft tokens / proposed draft tokens (speculative strategies), else undefined. */
  acceptanceRate?: number;
  draftTokens?: number;
  acceptedDraftTokens?: number;
  /** Milliseconds spent drafting (speculative strategies). */
  draftMs?: number;
  /** Milliseconds spent in verification forwards (speculative strategies). */
  verifyMs?: number;
  /**
   * Encoder runs (encoder-decoder models only: 1 per request, whatever the strategy). The prefill time
   * includes the encoder's.
   */
  encoderCalls?: number;
}

/** A draft tree. Row i's parent is `parents[i]` (-1 = attached to the last committed token). */
export interface DraftTree {
  readonly tokens: Int32Array;
  readonly parents: Int32Array;
  /** Draft probability of each row's token under the drafter, when known. [rows] */
  readonly q?: Float32Array;
  /** Full draft distributions per row (needed by multi-draft verifiers), when known. [rows, vocab] */
  readonly qDistributions?: Float32Array;
}

/** Events of `decoder.stream()`. */
export type DecodeEvent =
  | { type: 'token'; tokenId: number; text: string; origin: 'target' | 'draft' | 'bonus' }
  | { type: 'draft'; tree: DraftTree }
  | {
      type: 'verify';
      acceptedRows: number[];
      acceptedTokens: number[];
      bonusToken: number | undefined;
    }
  /**
   * Something the user should know that does not stop generation (e.g. a draft model whose context is
   * shorter than the prompt drafts nothing). Sent at most once per `code` per generation.
   */
  | { type: 'warning'; code: string; message: string }
  | {
      type: 'done';
      reason: FinishReason;
      stats: DecodeStats;
      /** The whole generated text (cut before a stop string). */
      text: string;
      /** Generated ids. */
      tokens: number[];
      /** Prompt ids as fed to the model. */
      promptTokens: number[];
    };

/** A model plus the tokenizer that goes with it, as returned by a backend or `loadModel`. */
export interface LoadedModel extends CausalLM {
  readonly tokenizer: Tokenizer;
  /** Folder or URL the model was loaded from. */
  readonly source: string;
  /** `generation_config.json` of the folder, when it has one. */
  readonly generationConfig?: Readonly<Record<string, unknown>>;
}

/** The files of a model folder, already read (browsers, tests and bundlers pass these directly). */
export interface ModelFiles {
  readonly config: Readonly<Record<string, unknown>>;
  readonly generationConfig?: Readonly<Record<string, unknown>>;
  readonly tokenizer: Readonly<Record<string, unknown>>;
  readonly tokenizerConfig?: Readonly<Record<string, unknown>>;
  /** Bytes of `onnx/model.onnx`. */
  readonly onnx: Uint8Array;
}

/** Something that turns a model folder into a CausalLM (CPU, wasm, CUDA, WebGPU...). */
export interface Backend {
  readonly id: string;
  /**
   * The backend's settings that change what a forward costs (threads, execution provider), e.g.
   * `onnx-cpu:intra=1:inter=1`: part of the key a persisted cost profile is stored under. Default: `id`.
   */
  readonly profileKey?: string;
  /** Loads a model folder (a path in Node, a URL in browsers) or already-read files. */
  load(
    source: string | ModelFiles,
    options?: { name?: string; signal?: AbortSignal },
  ): Promise<LoadedModel>;
}
