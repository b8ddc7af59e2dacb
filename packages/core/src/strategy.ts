import type {
  Capabilities,
  CausalLM,
  DecodeEvent,
  DraftTree,
  ForwardInput,
  ForwardOutput,
  LogitsProcessor,
  RandomSource,
  Sampler,
  Sequence,
} from './types.js';

/** Capability flags a strategy or drafter may require. */
export type CapabilityName = Exclude<keyof Capabilities, 'backendId'>;

/**
 * What the decoder hands a strategy. The sequence always holds every token but the last one (the
 * *pending* token, whose logits are not computed yet): a step forwards `[pending, ...draft]`, commits the
 * rows it keeps, and emits the tokens it decided on through `emit`.
 */
export interface StrategyContext {
  readonly model: CausalLM;
  /** KV state holding `tokens` minus the pending (last) token. */
  readonly sequence: Sequence;
  /**
   * Prompt and emitted tokens so far; the last one is pending. On an encoder-decoder model these are the
   * decoder's tokens (the start token, then the emitted ones); the prompt is in `source`.
   */
  readonly tokens: readonly number[];
  readonly promptLength: number;
  /** The encoder's source (the prompt ids) when the model is an encoder-decoder model; else absent. */
  readonly source?: readonly number[];
  /** The full processor chain (penalties, constraints, temperature, truncation). */
  readonly processor: LogitsProcessor<unknown>;
  /** Processor state after `tokens` (pending included). */
  readonly processorState: unknown;
  readonly sampler: Sampler;
  readonly random: RandomSource;
  /** The generation's seed; derive independent random streams for helpers (drafters) from it. */
  readonly seed: number;
  /** Sampling temperature of this generation (0 = greedy). */
  readonly temperature: number;
  readonly signal?: AbortSignal;
  /** How many more tokens may be emitted before maxTokens is reached. */
  remaining(): number;
  /**
   * Runs the target model and counts it as a forward pass; checks abort before and after. Use it instead of
   * `sequence.forward` so stats stay right. `options.sequence` runs it on another sequence of the target
   * (a fork: beams, per-branch probes); default the decoder's own `sequence`.
   */
  forward(input: ForwardInput, options?: { readonly sequence?: Sequence }): Promise<ForwardOutput>;
  /**
   * Emits one token: appends it to `tokens`, advances the processor state, streams its text. Returns false
   * when generation is over (EOS, stop string, maxTokens); the strategy must then return.
   */
  emit(tokenId: number, origin: 'target' | 'draft' | 'bonus'): boolean;
  /** Sends a `draft` or `verify` event to the stream. */
  report(event: Extract<DecodeEvent, { type: 'draft' | 'verify' }>): void;
  /** Sends a `warning` event, once per `code` in a generation (later calls with that code are ignored). */
  warn(code: string, message: string): void;
  /**
   * Hands the ranked hypotheses of a search strategy (beam search, reranking, superposed drafts) to
   * `decoder.search()`; the strategy still emits its best hypothesis through `emit`. A later call replaces
   * the earlier report.
   */
  reportSearch(report: SearchReport): void;
  /** Adds to the speculative stats. */
  recordDraft(stats: {
    proposed: number;
    accepted: number;
    draftMs: number;
    verifyMs: number;
  }): void;
}

/** One hypothesis as a search strategy reports it (the decoder adds its text). */
export interface ReportedHypothesis {
  /** Generated ids (the prompt excluded; an EOS that finished it included). */
  readonly tokens: readonly number[];
  /**
   * The strategy's ranking score, higher is better (beam search: length-normalized log-probability;
   * RankGen: the scorer's; superposed decoding: the interpolated log-score). NaN when nothing ranked it.
   */
  readonly score: number;
  /** Log-probability of each token under the processed distribution, when the strategy knows it. [tokens] */
  readonly tokenLogProbabilities?: readonly number[];
}

/** What a search strategy reports to `decoder.search()` (`StrategyContext.reportSearch`). */
export interface SearchReport {
  /** Hypotheses, best first. */
  readonly hypotheses: readonly ReportedHypothesis[];
  /** Strategy-specific counters (beam search: `forwardRows`, `forwardMode`; RankGen: `rounds`, ...). */
  readonly details?: Readonly<Record<string, number | string>>;
}

/** A decoding strategy: autoregressive, speculative, ... One per decoder. */
export interface Strategy {
  readonly kind: 'strategy';
  readonly name: string;
  /** True when, at temperature 0, the output is token-identical to autoregressive greedy decoding. */
  readonly lossless: boolean;
  readonly requires?: readonly CapabilityName[];
  /** Runs until `context.emit` returns false. */
  run(context: StrategyContext): Promise<void>;
}

/** What a drafter sees at the start of a generation. */
export interface DraftBeginContext {
  readonly tokens: readonly number[];
  /**
   * The encoder's source when the target is an encoder-decoder model (`tokens` are then its decoder's
   * tokens): an encoder-decoder draft model encodes it too.
   */
  readonly source?: readonly number[];
  readonly model: CausalLM;
  readonly random: RandomSource;
  readonly temperature: number;
  readonly signal?: AbortSignal;
  /**
   * Sends a `warning` event to the generation's stream, once per `code` (e.g. a drafter that cannot draft
   * for this context). Absent when the drafter runs outside a decoder.
   */
  readonly warn?: (code: string, message: string) => void;
}

/** What a drafter sees when asked for a draft. */
export interface DraftContext {
  /** Prompt and emitted tokens; the draft continues after the last one. */
  readonly tokens: readonly number[];
  readonly promptLength: number;
  /** Most draft nodes the engine will verify in this step (the budget, or less: adaptive sizing, context end). */
  readonly maxNodes: number;
  /** The strategy's configured budget (`speculative({ budget })`): what a drafter's configuration is checked against. */
  readonly budget?: number;
  /** Most tokens that may still be emitted (drafts past this are wasted). */
  readonly remaining: number;
  /** True when the target verifies whole trees in one forward; otherwise only a chain is verified. */
  readonly treeCapable: boolean;
  /** True when the decoder decodes greedily (temperature 0). */
  readonly greedy: boolean;
  readonly signal?: AbortSignal;
}

/** The outcome of one verification, shown to the drafter so it can learn. */
export interface VerifyResult {
  /** Context the draft was made for (pending token last). */
  readonly tokens: readonly number[];
  readonly tree: DraftTree;
  /** Accepted draft rows (indices into tree), root to leaf. */
  readonly acceptedRows: readonly number[];
  /** Tokens emitted this step: accepted draft tokens, then the bonus token when there is one. */
  readonly emitted: readonly number[];
  /**
   * Raw target logits of the verification forward. Row 0 is the pending token, row i + 1 is draft row i.
   * [tree rows + 1, vocab]
   */
  readonly logits: Float32Array;
  readonly vocabSize: number;
  /**
   * Raw target logits of the rows the drafter appended through `extend` (never committed), in its order.
   * Absent when it appended none. [extra rows, vocab]
   */
  readonly extraLogits?: Float32Array;
}

/** What a drafter sees when it may append rows to the verification forward (`Drafter.extend`). */
export interface DraftExtendContext {
  /** Context the draft was made for (pending token last). */
  readonly tokens: readonly number[];
  /** The tree the engine verifies in this forward (after sizing: the rows the drafter proposed, maybe cut). */
  readonly tree: DraftTree;
  /** Most rows that may be appended (the forward must fit the context). */
  readonly maxRows: number;
  /** Deepest an appended row may sit: depth d is position `tokens.length - 1 + d` (the pending token is depth 0). */
  readonly maxDepth: number;
  readonly greedy: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Rows a drafter appends to the verification forward, so that one target forward both verifies the current
 * tree and computes what the drafter needs for the next one (PPD's prompt tokens at every tree node). They
 * follow the verified rows in the forward, take part in tree attention through `parents`, sit at position
 * prefix + depth like every row, and are never committed: their logits come back in
 * `VerifyResult.extraLogits`. They never change what is accepted (the verifier reads only the tree's rows).
 */
export interface DraftExtraRows {
  /**
   * Row names (token ids); without `embeddings` the rows run on these tokens' embeddings. [extra rows]
   */
  readonly tokens: Int32Array;
  /**
   * Parent of each row in the forward's numbering: 0 is the pending token, i + 1 is tree row i, and
   * tree rows + 1 + j is extra row j (which must come before). -1 attaches a row to the committed prefix
   * (a sibling of the pending token, depth 0). [extra rows]
   */
  readonly parents: Int32Array;
  /**
   * Input embeddings of the extra rows (needs `capabilities.inputEmbeddings` and `embeddingTable()`: the
   * verified rows then run on their tokens' table rows, which is the same computation). [extra rows, hidden]
   */
  readonly embeddings?: Float32Array;
}

/** Proposes draft trees and learns from verification. */
export interface Drafter {
  readonly name: string;
  /** True when drafts come with draft probabilities `q` (needed for speculative sampling). */
  readonly providesProbabilities?: boolean;
  readonly requires?: readonly CapabilityName[];
  /**
   * Called once per generation with the prompt before the first draft. `random` is a stream independent of
   * the verifier's (drafts must not share random numbers with verification), seeded from the generation's
   * seed; `temperature` is the decoder's (0 = greedy), so a sampling drafter can match it.
   */
  begin?(context: DraftBeginContext): void | Promise<void>;
  /** Draft nodes this drafter is designed for; the engine's default budget when none is given. */
  readonly preferredBudget?: number;
  /** A draft tree continuing `context.tokens`, or undefined / an empty tree for no draft. */
  propose(context: DraftContext): DraftTree | undefined | Promise<DraftTree | undefined>;
  /**
   * Rows to append to this step's verification forward (see `DraftExtraRows`), called with the tree the
   * engine verifies, on backends with `capabilities.tree` only. Absent or undefined = none.
   */
  extend?(context: DraftExtendContext): DraftExtraRows | undefined;
  /** Sees every verification result. */
  observe?(result: VerifyResult): void | Promise<void>;
  /** Called when a generation ends (also on error/abort). */
  end?(): void | Promise<void>;
}

/**
 * Decides, at one tree node, which child to accept or which token to emit instead. `probabilities` is the
 * processed target distribution at the node; `children` are the draft rows below it.
 */
export interface Verifier {
  readonly name: string;
  /** True when the verifier preserves the target distribution (lossless). */
  readonly lossless: boolean;
  /** True when `step` reads the forward's hidden states (`output.hidden`); the engine then requests them. */
  readonly needsHidden?: boolean;
  /**
   * Returns the index into `children` to accept, or `{ token }` to stop with a recovered/bonus token sampled
   * from the right residual distribution.
   */
  step(args: VerifierStep): number | { token: number };
}

/** One node's verification input. */
export interface VerifierStep {
  /** Processed target probabilities at the node. [vocab] */
  readonly probabilities: Float32Array;
  /** Draft tokens of the node's children, in the drafter's order. */
  readonly childTokens: readonly number[];
  /** Draft distribution the children were drawn from, when the drafter gave one. [vocab] */
  readonly q?: Float32Array;
  readonly greedy: boolean;
  readonly random: RandomSource;
  /** Forward row of the node (0 = the pending token, draft row i = i + 1), when called by `verifyTree`. */
  readonly node?: number;
  /** Forward rows of the children, in the order of `childTokens`. */
  readonly childRows?: readonly number[];
  /** The whole verification forward (logits, hidden states when `needsHidden`): per-row extras for lossy rules. */
  readonly output?: ForwardOutput;
}

export type { ForwardInput, ForwardOutput, Sequence, CausalLM };
