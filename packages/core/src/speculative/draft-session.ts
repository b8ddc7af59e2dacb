import { InvalidArgumentError, UnsupportedCapabilityError, invariant } from '../errors.js';
import { argmax } from '../processors/index.js';
import { checkDraftCompatibility } from './draft-compatibility.js';
import { sampleFromProbabilities, seededRandom } from '../sampling/index.js';
import type { CapabilityName } from '../strategy.js';
import type { CausalLM, DraftTree, ForwardOutput, RandomSource, Sequence } from '../types.js';

const DEFAULT_MISMATCH_HINT =
  'Pick a smaller model of the same family, or draft without a second model (promptLookup(), tokenRecycling()).';

/** Options of a `DraftSession`: what every drafter that runs a second model configures the same way. */
export interface DraftSessionOptions {
  /** Layers the draft forwards skip (a self-draft: the target with layers skipped). */
  readonly skipLayers?: readonly number[];
  /**
   * The drafter's draft temperature. Undefined: follow the decoder's temperature (1 when the decoder is
   * greedy) and draw deterministic drafts when the decoder is greedy (`deterministic(context)`). A number:
   * always that temperature (0 = greedy drafts without draft probabilities).
   */
  readonly temperature?: number;
  /** Seed of the draft sampler when the engine gives no draft stream (`begin` without `random`). Default 0. */
  readonly seed?: number;
  /**
   * What the vocabulary-mismatch error tells the user to do. Default: pick a smaller model of the same
   * family, or draft without a second model.
   */
  readonly mismatchHint?: string;
  /**
   * Default true: while one generation runs, the prefix synced last is trusted (the decoding context only
   * grows). false when the contexts given to `contextLogits` / `draftChain` may end in tokens verification
   * can still reject (e.g. PEARL drafts after a carried, unverified chain): every sync compares the whole
   * prefix.
   */
  readonly trustPrefix?: boolean;
}

/** What `DraftSession.validate` checks: a drafter's second-model options, spelled as the drafter spells them. */
export interface DraftOptionsCheck {
  /** The draft model. */
  readonly model: CausalLM | undefined;
  readonly skipLayers?: readonly number[];
  readonly temperature?: number;
  readonly seed?: number;
  /** Capabilities the drafter needs of the draft model, each with the hint its error carries. */
  readonly requires?: readonly { readonly capability: CapabilityName; readonly hint: string }[];
  /** The option name of the draft model. Default `'model'`. */
  readonly modelArgument?: string;
  /** The option name of the skipped layers. Default `'skipLayers'`. */
  readonly skipLayersArgument?: string;
  /** True when the drafter may run without a model of its own (e.g. it drafts with the target). */
  readonly modelOptional?: boolean;
}

/** Options of `DraftSession.draftChain`. */
export interface DraftChainOptions {
  /** Most tokens to draft (≥ 1). */
  readonly count: number;
  /**
   * Draft temperature: 0 drafts the argmax; > 0 samples from `draftDistribution(logits, temperature)`.
   * Default: the sampler's.
   */
  readonly temperature?: number;
  /**
   * Return `q` and `qDistributions` (one-hot rows at temperature 0). Default: when the temperature is > 0
   * (greedy drafts then go to the deterministic-draft verification).
   */
  readonly probabilities?: boolean;
  /** The draft stream, end-of-sequence tokens and default temperature. Default: the session's sampler. */
  readonly sampler?: DraftSampler;
  /**
   * Default true: each drafted token is fed and committed (one single-row forward per token). false: nothing
   * is committed; each next token's logits come from one tree forward over the chain drafted so far, so the
   * draft sequence only ever holds the context.
   */
  readonly commit?: boolean;
  /**
   * The logits a token is drawn from, given the draft model's raw logits of its row (e.g. online SD's learned
   * correction). `previous` is the token the row conditions on last. Default: the raw logits.
   */
  readonly transform?: (
    raw: Float32Array,
    row: { readonly index: number; readonly previous: number },
  ) => ArrayLike<number>;
  readonly signal?: AbortSignal;
  /** Ask the forwards that feed drafted tokens for hidden states (passed to `afterFeed`). */
  readonly hidden?: boolean;
  /**
   * Called after a drafted token was fed to the draft model (every token but the last); return false to
   * stop drafting there. The per-drafter stopping rule (e.g. SpecDec++'s acceptance head).
   */
  readonly afterFeed?: (step: DraftChainStep) => boolean;
}

/** One drafted token, as `DraftChainOptions.afterFeed` sees it. */
export interface DraftChainStep {
  readonly token: number;
  /** Row of the token in the chain (0 = the first draft token). */
  readonly index: number;
  /** The token's draft probability (1 for greedy drafts). */
  readonly probability: number;
  /** Hidden state of the forward that fed the token, when `hidden` was asked for. [hiddenSize] */
  readonly hidden?: Float32Array;
}

/** What `DraftSampler.begin` reads of the drafter's `begin` context. */
export interface DraftSamplerBegin {
  /** The target. */
  readonly model: CausalLM;
  /** The encoder's source when the target is an encoder-decoder model (see `DraftBeginContext.source`). */
  readonly source?: readonly number[];
  /** The engine's draft stream, independent of the verifier's. */
  readonly random?: RandomSource;
  /** The decoder's temperature (0 = greedy). */
  readonly temperature?: number;
  /** The generation's warning channel (`DraftBeginContext.warn`): compatibility warnings go there. */
  readonly warn?: (code: string, message: string) => void;
}

/**
 * The draft sampler of one generation: the draft stream (the engine's, or one seeded with `seed`), the
 * draft temperature (the drafter's option, else the decoder's, 1 when the decoder is greedy), and the
 * target's end-of-sequence tokens and context length. A `DraftSession` has one; drafters whose generations
 * share one session at once (S2D's targets) keep one per generation.
 */
export class DraftSampler {
  /** The draft stream: the engine's (from `begin`), or one seeded with `seed`. */
  random: RandomSource;
  /** Draft temperature of the generation (see `DraftSessionOptions.temperature`). */
  temperature: number;
  /** Context length of the target (from `begin`); the draft must fit it too. */
  targetContext = Number.POSITIVE_INFINITY;
  /** End-of-sequence tokens of the target (from `begin`): nothing after one is drafted. */
  eos: ReadonlySet<number> = new Set();

  constructor(private readonly options: Pick<DraftSessionOptions, 'temperature' | 'seed'> = {}) {
    this.random = seededRandom(options.seed ?? 0);
    this.temperature = options.temperature ?? 1;
  }

  /** Takes the generation's draft stream, draft temperature and target limits (the drafter's `begin`). */
  begin({ model: target, random, temperature }: DraftSamplerBegin): void {
    if (random) this.random = random;
    this.temperature =
      this.options.temperature ?? (temperature !== undefined && temperature > 0 ? temperature : 1);
    this.targetContext = target.info.contextLength;
    this.eos = new Set(target.info.eosTokenIds);
  }

  /** True when drafts must be deterministic: the decoder is greedy and no draft temperature was set. */
  deterministic(context: { readonly greedy: boolean }): boolean {
    return context.greedy && this.options.temperature === undefined;
  }

  /** The draft temperature for `context`: 0 when drafts must be deterministic. */
  temperatureFor(context: { readonly greedy: boolean }): number {
    return this.deterministic(context) ? 0 : this.temperature;
  }

  /** Draws a draft token on the draft stream (see `sampleDraftToken`). */
  sample(
    logits: ArrayLike<number>,
    temperature: number = this.temperature,
    distribution?: Float32Array,
  ): number {
    return sampleDraftToken(logits, temperature, this.random, distribution);
  }
}

/**
 * The draft model's state for one drafter: its KV sequence kept in step with the decoding context
 * (truncated to the longest common prefix, fed only the missing tokens), tree forwards of a draft after
 * the context that commit nothing, chains drafted token by token with its `sampler`, and the generations
 * that share it (`begin` / `end`, `inTurn`).
 *
 * Within one generation the decoding context only grows, so while exactly one generation runs (`begin`
 * without `end`) the prefix synced last is trusted and not compared again (see `trustPrefix`).
 * Generations that share the session at once are compared token by token.
 */
export class DraftSession {
  private sequence: Sequence | undefined;
  /** The source of the running generation, when the target is an encoder-decoder model. */
  private source: readonly number[] | undefined;
  /** The source the draft sequence was opened for (encoder-decoder draft models), as a key. */
  private sequenceSource: string | undefined;
  private readonly skipLayers: readonly number[] | undefined;
  private readonly options: DraftSessionOptions;
  /** Generations running (`begin` without `end`): the sequence is released when the last one ends. */
  /** Targets already checked by `checkTarget`. */
  private readonly compatibleTargets = new WeakMap<CausalLM, readonly string[]>();
  private generations = 0;
  /** Length of the committed prefix known to equal the running generation's context. */
  private trusted = 0;
  /** Settles when the last queued `inTurn` work is done. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The draft model forwards run on (replaced by `swapModel`). */
  private current: CausalLM;
  /** Draft-model forward calls made so far. */
  forwards = 0;
  /** The draft sampler of the generation that began last (its stream, temperature, target limits). */
  readonly sampler: DraftSampler;

  /**
   * @param model The draft model.
   * @param options Layers to skip (the former second parameter, still accepted as an array) or the
   *   session's options.
   */
  constructor(model: CausalLM, options: readonly number[] | DraftSessionOptions = {}) {
    this.current = model;
    this.options = isLayerList(options) ? { skipLayers: options } : options;
    this.skipLayers = this.options.skipLayers;
    this.sampler = new DraftSampler(this.options);
  }

  /**
   * Throws InvalidArgumentError (or UnsupportedCapabilityError) unless the options of a drafter that runs
   * a second model are usable: a CausalLM, layer indices it can skip, a temperature ≥ 0, a safe-integer
   * seed, and the capabilities the drafter needs. Call it in the drafter's factory.
   */
  static validate({
    model,
    skipLayers,
    temperature,
    seed,
    requires = [],
    modelArgument = 'model',
    skipLayersArgument = 'skipLayers',
    modelOptional = false,
  }: DraftOptionsCheck): void {
    if (model === undefined && modelOptional) {
      // Nothing to check the layers and capabilities against until the drafter picks its model.
    } else if (!model || typeof model.createSequence !== 'function' || !model.info) {
      throw new InvalidArgumentError({
        argument: modelArgument,
        message: 'needs a draft CausalLM (e.g. from loadModel()).',
      });
    } else {
      for (const { capability, hint } of requires) {
        if (!model.capabilities[capability]) {
          throw new UnsupportedCapabilityError({
            capability,
            backendId: model.capabilities.backendId,
            hint,
          });
        }
      }
      if (skipLayers !== undefined) checkSkipLayers(model, skipLayers, skipLayersArgument);
    }
    if (
      temperature !== undefined &&
      !(typeof temperature === 'number' && Number.isFinite(temperature) && temperature >= 0)
    ) {
      throw new InvalidArgumentError({
        argument: 'temperature',
        message: `must be ≥ 0 (0 = greedy drafts), got ${String(temperature)}.`,
      });
    }
    if (seed !== undefined && !Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError({
        argument: 'seed',
        message: `must be a safe integer, got ${String(seed)}.`,
      });
    }
  }

  /** The draft model (the one `swapModel` installed last). */
  get model(): CausalLM {
    return this.current;
  }

  /**
   * Hot-swaps the draft model between generations (e.g. a draft whose weights were updated online): the
   * next generation drafts with `model`. Drafts are proposals the target verifies, so a swap never changes
   * what a lossless verifier emits. Returns the model swapped out; the caller owns it.
   * @throws InvalidArgumentError while a generation runs (swap after `end`, before the next `begin`) or when
   *   `model` does not have the current draft's vocabulary size and context length.
   */
  swapModel(model: CausalLM): CausalLM {
    if (this.generations > 0) {
      throw new InvalidArgumentError({
        argument: 'model',
        message: `cannot swap the draft model while ${this.generations} generation(s) run on it; swap between generations.`,
      });
    }
    DraftSession.validate({ model });
    const previous = this.current;
    if (
      model.info.vocabSize !== previous.info.vocabSize ||
      model.info.contextLength !== previous.info.contextLength
    ) {
      throw new InvalidArgumentError({
        argument: 'model',
        message:
          `the new draft has vocabulary ${model.info.vocabSize} and context ${model.info.contextLength}; ` +
          `the draft it replaces has ${previous.info.vocabSize} and ${previous.info.contextLength}. ` +
          'Swap in a draft of the same shape (e.g. the same model with updated weights).',
      });
    }
    this.dispose();
    this.current = model;
    return previous;
  }

  get vocabSize(): number {
    return this.model.info.vocabSize;
  }

  /**
   * Throws VocabMismatchError unless `target` uses the draft model's token ids (`checkDraftCompatibility`; call
   * it in `begin`). Different special tokens and a shorter draft context come back as warnings. The check runs
   * once per target.
   */
  checkTarget(target: CausalLM): readonly string[] {
    if (target === this.model) return [];
    let warnings = this.compatibleTargets.get(target);
    if (!warnings) {
      warnings = checkDraftCompatibility(target, this.model, {
        hint: this.options.mismatchHint ?? DEFAULT_MISMATCH_HINT,
        specialTokens: 'warn',
        // Drafters warn when a generation runs past the draft's context (fitDepth stops drafting there).
        checkContext: false,
      }).warnings;
      this.compatibleTargets.set(target, warnings);
    }
    return warnings;
  }

  /**
   * Starts a generation (the drafter's `begin`): checks the target's vocabulary (warnings go to `context.warn`)
   * and begins `sampler` (the engine's draft stream, the draft temperature, the target's end-of-sequence tokens
   * and context length).
   */
  begin(context: DraftSamplerBegin): void {
    for (const warning of this.checkTarget(context.model))
      context.warn?.('draft-compatibility', warning);
    const draftStart = this.model.encoderDecoder?.decoderStartTokenId;
    const targetStart = context.model.encoderDecoder?.decoderStartTokenId;
    if (draftStart !== targetStart) {
      throw new InvalidArgumentError({
        argument: 'model',
        message:
          draftStart === undefined || targetStart === undefined
            ? `the draft model "${this.model.info.name}" and the target "${context.model.info.name}" must both be encoder-decoder models or both decoder-only: a draft continues the target's decoder tokens.`
            : `the draft model starts its decoder from token ${draftStart} but the target from ${targetStart}; pick a draft model of the target's family.`,
      });
    }
    if (
      draftStart !== undefined &&
      this.generations > 0 &&
      this.source?.join(',') !== context.source?.join(',')
    ) {
      // The one draft sequence attends to one encoding; tokens alone cannot tell two sources apart.
      throw new InvalidArgumentError({
        argument: 'model',
        message: `the encoder-decoder draft model "${this.model.info.name}" drafts for one source at a time; give concurrent generations of other prompts their own drafter.`,
      });
    }
    this.sampler.begin(context);
    this.generations++;
    this.trusted = 0;
    this.source = context.source;
  }

  /** Ends a generation (the drafter's `end`); the last one to end releases the KV state. */
  end(): void {
    this.generations = Math.max(0, this.generations - 1);
    if (this.generations === 0) this.dispose();
  }

  /**
   * Most tokens of a chain drafted after `context`: at most `length`, what the engine verifies and may still
   * emit, and what fits both models' contexts (`fitDepth`; the target's from `sampler`).
   */
  fitChain(
    context: {
      readonly tokens: readonly number[];
      readonly remaining: number;
      readonly maxNodes: number;
    },
    length: number,
    sampler: DraftSampler = this.sampler,
  ): number {
    return fitDepth(Math.min(length, context.remaining, context.maxNodes), levels => levels, {
      contextLength: context.tokens.length,
      draftContext: this.model.info.contextLength,
      targetContext: sampler.targetContext,
    });
  }

  /** Positions the draft model can still take after `contextLength` tokens. */
  room(contextLength: number): number {
    return this.model.info.contextLength - contextLength;
  }

  /**
   * Runs `work` after every earlier `inTurn` work has settled: generations in flight at once take turns
   * on the one draft sequence, so no forward/commit pair is interleaved.
   */
  inTurn<TResult>(work: () => Promise<TResult>): Promise<TResult> {
    const turn = this.queue.then(work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Brings the draft sequence to `context` — the decoding context, never a context extended by draft
   * tokens (those go through `feed`, `treeLogits` or `draftChain`) — and returns the draft logits after it
   * (a copy). [vocab]
   */
  async contextLogits(context: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    this.sequence = await this.openSequence(signal);
    const committed = this.sequence.tokens;
    // Keep at most all but the last context token, so one forward yields the logits after the context.
    const limit = Math.min(committed.length, context.length - 1);
    const trust = this.generations === 1 && this.options.trustPrefix !== false;
    const from = trust ? Math.min(this.trusted, limit) : 0;
    const common = commonPrefixLength(committed, context, from, limit);
    if (common < committed.length) this.sequence.truncate(common);
    const feed = Int32Array.from(context.slice(common));
    const { logits } = await this.sequence.forward(
      { tokens: feed, skipLayers: this.skipLayers },
      { signal },
    );
    this.forwards++;
    this.sequence.commit(rangeOf(feed.length));
    this.trusted = context.length;
    const vocab = this.vocabSize;
    return logits.slice((feed.length - 1) * vocab, feed.length * vocab);
  }

  /** Brings the draft sequence to `context` and returns the draft distribution after it. [vocab] */
  async contextDistribution(
    context: readonly number[],
    temperature: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const logits = await this.contextLogits(context, signal);
    return draftDistribution(logits, temperature, new Float32Array(this.vocabSize));
  }

  /**
   * Scores a draft tree after the synced context with one tree forward (nothing committed) and sets the
   * draft distribution at each of `rows` in `into`.
   */
  async treeDistributions(
    into: RowDistributions,
    tree: { readonly tokens: readonly number[]; readonly parents: readonly number[] },
    rows: Iterable<number>,
    temperature: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const vocab = this.vocabSize;
    const logits = await this.treeLogits(
      Int32Array.from(tree.tokens),
      Int32Array.from(tree.parents),
      signal,
    );
    for (const row of rows) {
      const rowLogits = logits.subarray(row * vocab, (row + 1) * vocab);
      into.set(row, draftDistribution(rowLogits, temperature, new Float32Array(vocab)));
    }
  }

  /**
   * Feeds `tokens` after the synced context and commits them: the draft sequence grows by a chain of
   * drafted tokens. Returns the forward's output (logits [rows, vocab], hidden states when asked for).
   */
  async feed(
    tokens: Int32Array,
    { signal, hidden }: { signal?: AbortSignal; hidden?: boolean } = {},
  ): Promise<ForwardOutput> {
    const sequence = this.synced();
    const output = await sequence.forward(
      { tokens, skipLayers: this.skipLayers, hidden },
      { signal },
    );
    this.forwards++;
    sequence.commit(rangeOf(tokens.length));
    return output;
  }

  /**
   * Draft logits at every row of a tree placed after the synced context (`parents[i] = -1` attaches row i
   * to the context). Nothing is committed. [rows, vocab]
   */
  async treeLogits(
    tokens: Int32Array,
    parents: Int32Array,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const sequence = this.synced();
    let chain = true;
    for (let i = 0; i < parents.length && chain; i++) chain = parents[i] === i - 1;
    const { logits } = await sequence.forward(
      { tokens, parents: chain ? undefined : parents, skipLayers: this.skipLayers },
      { signal },
    );
    this.forwards++;
    return logits;
  }

  /**
   * Drafts a chain after `context`, one draft forward per token: syncs the sequence, draws each token with
   * the sampler, scores it (fed and committed, or by a tree forward with `commit: false`), and stops at
   * `count` tokens, after an end-of-sequence token, or when `afterFeed` says so. Committed drafts stay in
   * the sequence until the next sync drops the rejected ones.
   */
  async draftChain(
    context: readonly number[],
    {
      count,
      sampler = this.sampler,
      temperature = sampler.temperature,
      probabilities = temperature > 0,
      commit = true,
      transform,
      signal,
      hidden,
      afterFeed,
    }: DraftChainOptions,
  ): Promise<DraftTree> {
    invariant(Number.isInteger(count) && count >= 1, 'draftChain drafts at least one token');
    const vocab = this.vocabSize;
    const tokens = new Int32Array(count);
    const q = probabilities ? new Float32Array(count) : undefined;
    const qDistributions = probabilities ? new Float32Array(count * vocab) : undefined;
    let raw = await this.contextLogits(context, signal);
    const step = new Int32Array(1);
    let drafted = 0;
    for (;;) {
      const distribution = qDistributions?.subarray(drafted * vocab, (drafted + 1) * vocab);
      const previous = drafted > 0 ? tokens[drafted - 1] : context[context.length - 1];
      const logits = transform ? transform(raw, { index: drafted, previous }) : raw;
      const token = sampler.sample(logits, temperature, distribution);
      const probability = distribution ? distribution[token] : 1;
      tokens[drafted] = token;
      if (q) q[drafted] = probability;
      drafted++;
      // Nothing after an end-of-sequence token can be emitted: stop drafting there.
      if (drafted === count || sampler.eos.has(token)) break;
      let hiddenState: Float32Array | undefined;
      if (commit) {
        step[0] = token;
        const output = await this.feed(step, { signal, hidden });
        raw = output.logits;
        hiddenState = output.hidden;
      } else {
        const chain = tokens.slice(0, drafted);
        const rows = await this.treeLogits(chain, chainParents(drafted), signal);
        raw = rows.subarray((drafted - 1) * vocab, drafted * vocab);
      }
      if (afterFeed && !afterFeed({ token, index: drafted - 1, probability, hidden: hiddenState }))
        break;
    }
    const parents = chainParents(drafted);
    if (drafted === count) return { tokens, parents, q, qDistributions };
    return {
      tokens: tokens.slice(0, drafted),
      parents,
      q: q?.slice(0, drafted),
      qDistributions: qDistributions?.slice(0, drafted * vocab),
    };
  }

  /** Releases the KV state. */
  dispose(): void {
    this.sequence?.dispose();
    this.sequence = undefined;
    this.sequenceSource = undefined;
    this.trusted = 0;
  }

  /**
   * The draft sequence, opened on first use. An encoder-decoder draft model encodes the generation's source
   * once (its own encoder) and reopens the sequence when a generation with another source comes.
   */
  private async openSequence(signal?: AbortSignal): Promise<Sequence> {
    const seq2seq = this.model.encoderDecoder;
    if (seq2seq === undefined) return this.sequence ?? this.model.createSequence();
    const source = this.source;
    if (source === undefined) {
      throw new InvalidArgumentError({
        argument: 'model',
        message: `the draft model "${this.model.info.name}" is an encoder-decoder model; it drafts only for an encoder-decoder target (begin() got no source).`,
      });
    }
    const key = source.join(',');
    if (this.sequence !== undefined && this.sequenceSource === key) return this.sequence;
    this.sequence?.dispose();
    this.sequence = undefined;
    this.trusted = 0;
    const encoding = await seq2seq.encode(Int32Array.from(source), { signal });
    this.sequenceSource = key;
    return this.model.createSequence({ encoding });
  }

  private synced(): Sequence {
    if (!this.sequence)
      throw new InvalidArgumentError({
        argument: 'context',
        message: 'sync the draft to a context first.',
      });
    return this.sequence;
  }
}

/**
 * Writes the draft distribution softmax(logits / temperature) into `out` (one-hot argmax when temperature
 * is 0) and returns it. [vocab]
 */
export function draftDistribution(
  logits: ArrayLike<number>,
  temperature: number,
  out: Float32Array,
): Float32Array {
  const vocab = out.length;
  if (temperature === 0) {
    out.fill(0);
    out[argmax(logits)] = 1;
    return out;
  }
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    const weight = Math.exp((logits[i] - max) / temperature);
    out[i] = weight;
    sum += weight;
  }
  for (let i = 0; i < vocab; i++) out[i] /= sum;
  return out;
}

/**
 * The draft sampler. Temperature 0: the argmax of `logits` (the one-hot distribution is written into
 * `distribution` when one is given; no random number is drawn). Temperature > 0: writes
 * `draftDistribution(logits, temperature)` into `distribution` (a new array when none is given) and
 * samples it with `random`.
 */
export function sampleDraftToken(
  logits: ArrayLike<number>,
  temperature: number,
  random: RandomSource,
  distribution?: Float32Array,
): number {
  if (temperature > 0) {
    const q = draftDistribution(
      logits,
      temperature,
      distribution ?? new Float32Array(logits.length),
    );
    return sampleFromProbabilities(q, random);
  }
  if (distribution) draftDistribution(logits, 0, distribution);
  return argmax(logits);
}

/**
 * Length of the common prefix of `committed` and `context`, at most `limit`, comparing from index `from`
 * (the first `from` tokens are known to agree).
 */
export function commonPrefixLength(
  committed: readonly number[],
  context: readonly number[],
  from: number,
  limit: number,
): number {
  let common = from;
  while (common < limit && committed[common] === context[common]) common++;
  return common;
}

/** Draft distributions at the rows of a draft tree, by row (−1 = the row after the context). [vocab] each */
export class RowDistributions {
  private readonly rows = new Map<number, Float32Array>();

  /** Sets the distribution at `row`; returns this. */
  set(row: number, distribution: Float32Array): this {
    this.rows.set(row, distribution);
    return this;
  }

  /** The distribution at `row`; a row gets children only after it was scored. */
  at(row: number): Float32Array {
    const distribution = this.rows.get(row);
    invariant(distribution !== undefined, `draft row ${row} has no distribution`);
    return distribution;
  }
}

/**
 * A draft tree whose row r was drawn from `distributions[r]` (its parent's draft distribution): `q[r]` is
 * the token's probability there and `qDistributions` stacks the rows, as multi-draft verifiers need.
 */
export function sampledTree(
  tokens: readonly number[],
  parents: readonly number[],
  distributions: readonly Float32Array[],
): DraftTree {
  const vocab = distributions[0]?.length ?? 0;
  const qDistributions = new Float32Array(tokens.length * vocab);
  distributions.forEach((distribution, row) => qDistributions.set(distribution, row * vocab));
  return {
    tokens: Int32Array.from(tokens),
    parents: Int32Array.from(parents),
    q: Float32Array.from(tokens, (token, row) => distributions[row][token]),
    qDistributions,
  };
}

/**
 * The deepest draft, at most `depth` levels, whose forwards fit both models' contexts: the draft model's
 * last tree forward holds the rows above the last level, the target's verification holds every row.
 * `rowsThrough(d)` is the most rows the first d levels can have — decided by the shape alone, so the cut
 * never depends on what was drawn.
 */
export function fitDepth(
  depth: number,
  rowsThrough: (levels: number) => number,
  {
    contextLength,
    draftContext,
    targetContext,
  }: { contextLength: number; draftContext: number; targetContext: number },
): number {
  // The context itself must fit the draft model, or there is no draft.
  if (contextLength > draftContext) return 0;
  let fitted = 0;
  while (
    fitted < depth &&
    rowsThrough(fitted) <= draftContext - contextLength &&
    rowsThrough(fitted + 1) <= targetContext - contextLength
  ) {
    fitted++;
  }
  return fitted;
}

function checkSkipLayers(model: CausalLM, skipLayers: readonly number[], argument: string): void {
  if (
    !Array.isArray(skipLayers) ||
    skipLayers.some(layer => !Number.isInteger(layer) || layer < 0 || layer >= model.info.numLayers)
  ) {
    throw new InvalidArgumentError({
      argument,
      message: `must list layer indices in [0, ${model.info.numLayers}), got ${JSON.stringify(skipLayers)}.`,
    });
  }
  if (!model.capabilities.layerSkip) {
    throw new UnsupportedCapabilityError({
      capability: 'layerSkip',
      backendId: model.capabilities.backendId,
      hint: `${argument} needs a draft model built with per-layer skip switches (decodekit converts llama2.c checkpoints with them).`,
    });
  }
}

function isLayerList(
  options: readonly number[] | DraftSessionOptions,
): options is readonly number[] {
  return Array.isArray(options);
}

function chainParents(length: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => i - 1);
}

function rangeOf(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}
