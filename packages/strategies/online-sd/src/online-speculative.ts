import { DraftSession, InvalidArgumentError, speculative } from '@decodekit/core';
import type {
  CausalLM,
  DraftBeginContext,
  DraftContext,
  DraftTrainingSample,
  DraftTree,
  DraftUpdater,
  Drafter,
  RejectedPosition,
  ScoredPosition,
  Strategy,
  VerifyResult,
} from '@decodekit/core';

/** Options of `onlineSdDrafter()` and `onlineSd()`. */
export interface OnlineSpeculativeOptions {
  /** The starting draft model. Must share the target's vocabulary. It stays the caller's to dispose. */
  model: CausalLM;
  /**
   * Distils the draft on the buffered generations and returns the updated draft (e.g. `onlineDistiller` of
   * `@decodekit/train`). Absent: the draft stays frozen and the drafter only records telemetry.
   */
  updater?: DraftUpdater;
  /**
   * Generations buffered between two draft updates (the official trainer's `online_update_interval`).
   * Default 8.
   */
  updateInterval?: number;
  /** Tokens drafted per step (a chain; the official `max_propose_num`). Default 5. */
  draftLength?: number;
  /** Target tokens (with log-probabilities) exported per rejected position in `targetTopK`. Default 8. */
  topK?: number;
  /**
   * Also export every verified position with the target's logits there (`DraftTrainingSample.verified`,
   * for `onlineDistiller({ positions: 'verified' })`): one vocabulary-sized row per emitted token, so off by
   * default. Default false.
   */
  recordVerified?: boolean;
  /** Called with each finished generation's telemetry (the rejected positions), before it is buffered. */
  onSample?: (sample: DraftTrainingSample) => void;
  /** Draft temperature. Default: the decoder's (greedy drafts when the decoder is greedy). */
  temperature?: number;
  /** Layers the draft forwards skip (`capabilities.layerSkip`). */
  skipLayers?: readonly number[];
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** Acceptance counts of one generation, in order. */
export interface OnlineSdRecord {
  readonly proposed: number;
  readonly accepted: number;
  /** Positions where the target rejected the draft. */
  readonly rejected: number;
  /**
   * Σ over the verified draft rows (each step's rows through its first rejection) of the row's acceptance
   * probability Σ_x min(p(x), q(x)): q the draft's distribution, p the target's softmax(logits / T) at the
   * decoder's temperature (logits processors not applied; at T = 0 it is 1 when the draft token is the
   * target's argmax). `alphaSum / verifiedRows` is the paper's α, with less sampling noise than
   * `accepted / proposed`.
   */
  readonly alphaSum: number;
  /** Draft rows the target verified (through each step's first rejection). */
  readonly verifiedRows: number;
  /** Draft version the generation drafted with (0 = the starting draft, n = after the n-th update). */
  readonly draftVersion: number;
}

/** An online-SD drafter; its buffer and draft persist across generations of this instance. */
export interface OnlineSdDrafter extends Drafter {
  readonly name: 'online-sd';
  /** The draft model drafting now. */
  readonly model: CausalLM;
  /** Draft-model forward calls made so far. */
  readonly draftForwards: number;
  /** One record per finished generation (acceptance over time). */
  readonly history: readonly OnlineSdRecord[];
  /** Generations buffered for the next update. */
  readonly buffer: readonly DraftTrainingSample[];
  /** Draft updates swapped in so far. */
  readonly updates: number;
  /** The error of the last failed update (the old draft kept drafting), if any. */
  readonly lastUpdateError: unknown;
  /**
   * Waits for a running update and, when no generation runs, swaps its draft in (otherwise the next
   * `begin` does). `begin` does the same, so calling this is only needed to time or observe the swap.
   */
  settle(): Promise<void>;
  /** Waits for a running update, then disposes every draft model the updater returned. */
  dispose(): Promise<void>;
}

/**
 * Online Speculative Decoding's drafter (Liu et al., 2023, "Online Speculative Decoding",
 * https://arxiv.org/abs/2310.07177; official trainer LiuXiaoxuanPKU/OSD `distill/distill_trainer.py`).
 * The draft model drafts chains; every verification that rejects a draft token records the position, the
 * rejected and recovered tokens and the target's logits there. Each finished generation joins a buffer;
 * every `updateInterval` generations the buffer goes to `updater`, which distils the draft's weights on
 * those positions and returns the updated draft, hot-swapped in before the next generation
 * (`DraftSession.swapModel`). Training runs while the caller reads the result of the generation that
 * filled the buffer; the next `begin` waits for it.
 *
 * Exactness does not depend on the draft: drafts and their `q` come from the draft model drafting at the
 * time, and the target verifies them, so greedy match and speculative sampling stay exact across swaps.
 */
export function onlineSdDrafter(options: OnlineSpeculativeOptions): OnlineSdDrafter {
  validate(options);
  const {
    model,
    updater,
    updateInterval = 8,
    draftLength = 5,
    topK = 8,
    recordVerified = false,
    onSample,
    temperature,
    skipLayers,
    seed = 0,
  } = options;

  const session = new DraftSession(model, { skipLayers, temperature, seed });
  const { sampler } = session;
  const history: OnlineSdRecord[] = [];
  const buffer: DraftTrainingSample[] = [];
  /** Models the updater returned that this drafter still holds (the live one and any not yet swapped in). */
  const owned = new Set<CausalLM>();
  let updates = 0;
  let lastUpdateError: unknown;
  let running = 0;
  let pending: Promise<CausalLM | undefined> | undefined;
  let ready: CausalLM | undefined;
  let current = newGeneration([], 0);
  /** The decoder's temperature of the running generation. */
  let decoderTemperature = 0;

  function newGeneration(prompt: readonly number[], promptLength: number) {
    return {
      tokens: [...prompt] as number[],
      promptLength,
      rejected: [] as RejectedPosition[],
      stepStarts: [] as ScoredPosition[],
      verified: [] as ScoredPosition[],
      proposed: 0,
      accepted: 0,
      observed: 0,
      alphaSum: 0,
      verifiedRows: 0,
    };
  }

  /** Swaps in the last finished update when no generation runs. */
  async function swapWhenIdle(warn?: DraftBeginContext['warn']): Promise<void> {
    if (pending) {
      const update = pending;
      pending = undefined;
      const next = await update;
      if (next) {
        if (ready) await disposeOwned(ready);
        ready = next;
      } else if (warn) {
        warn(
          'online-sd-update-failed',
          `The draft update failed; drafting with the previous draft: ${String(lastUpdateError)}`,
        );
      }
    }
    if (ready && running === 0) {
      const previous = session.swapModel(ready);
      ready = undefined;
      updates++;
      await disposeOwned(previous);
    }
  }

  async function disposeOwned(draft: CausalLM): Promise<void> {
    if (!owned.delete(draft)) return; // the caller's starting draft
    await draft.dispose();
  }

  function startUpdate(samples: DraftTrainingSample[]): void {
    if (!updater) return;
    const previous = pending ?? Promise.resolve(undefined);
    // Updates queue: each distils the draft the last one produced (the updater keeps its own weights).
    pending = previous.then(async earlier => {
      if (earlier) {
        if (ready) await disposeOwned(ready);
        ready = earlier;
      }
      try {
        const next = await updater.update(samples);
        owned.add(next);
        return next;
      } catch (error) {
        lastUpdateError = error;
        return undefined;
      }
    });
  }

  async function propose(context: DraftContext): Promise<DraftTree | undefined> {
    const length = session.fitChain(context, draftLength);
    if (length < 1) return undefined;
    return session.draftChain(context.tokens, {
      count: length,
      temperature: sampler.temperatureFor(context),
      probabilities: true,
      commit: false,
      signal: context.signal,
    });
  }

  function observe(result: VerifyResult): void {
    const proposed = result.tree.tokens.length;
    const accepted = result.acceptedRows.length;
    const vocab = result.vocabSize;
    // Row 0 scores the position after the previous step's last emitted token (the pending token): the
    // official trainer's per-step position. The first step's is the prompt's, which that trainer skips.
    if (current.observed > 0) {
      current.stepStarts.push({
        position: result.tokens.length,
        targetLogits: result.logits.slice(0, vocab),
      });
    }
    const verified = Math.min(proposed, accepted + 1);
    for (let row = 0; row < verified; row++) {
      const logits = result.logits.subarray(row * vocab, (row + 1) * vocab);
      const q = result.tree.qDistributions?.subarray(row * vocab, (row + 1) * vocab);
      current.alphaSum += acceptanceProbability(
        logits,
        decoderTemperature,
        result.tree.tokens[row],
        q,
      );
    }
    current.verifiedRows += verified;
    // Target row r scores the emitted token at tokens.length + r.
    if (recordVerified) {
      result.emitted.forEach((_, row) => {
        current.verified.push({
          position: result.tokens.length + row,
          targetLogits: result.logits.slice(row * vocab, (row + 1) * vocab),
        });
      });
    }
    current.proposed += proposed;
    current.accepted += accepted;
    current.observed++;
    // Target row r (row 0 = the pending token) predicts draft row r at position tokens.length + r. A chain
    // draft accepted up to row `accepted` was rejected there, and the target's (recovered) token follows.
    if (accepted < proposed && result.emitted.length > accepted) {
      const targetLogits = result.logits.slice(accepted * vocab, (accepted + 1) * vocab);
      current.rejected.push({
        position: result.tokens.length + accepted,
        draftToken: result.tree.tokens[accepted],
        targetToken: result.emitted[accepted],
        targetLogits,
        targetTopK: topLogprobs(targetLogits, topK),
      });
    }
    current.tokens = [...result.tokens, ...result.emitted];
  }

  return {
    name: 'online-sd',
    providesProbabilities: true,
    preferredBudget: draftLength,
    get model() {
      return session.model;
    },
    get draftForwards() {
      return session.forwards;
    },
    get history() {
      return history;
    },
    get buffer() {
      return buffer;
    },
    get updates() {
      return updates;
    },
    get lastUpdateError() {
      return lastUpdateError;
    },
    settle: () => swapWhenIdle(),
    async dispose() {
      await pending;
      pending = undefined;
      ready = undefined;
      for (const draft of owned) await disposeOwned(draft);
    },
    async begin(context) {
      await swapWhenIdle(context.warn);
      session.begin(context);
      decoderTemperature = context.temperature;
      running++;
      current = newGeneration(context.tokens, context.tokens.length);
    },
    propose,
    observe,
    end() {
      running = Math.max(0, running - 1);
      session.end();
      history.push({
        proposed: current.proposed,
        accepted: current.accepted,
        rejected: current.rejected.length,
        alphaSum: current.alphaSum,
        verifiedRows: current.verifiedRows,
        draftVersion: updates,
      });
      if (current.observed > 0) {
        const sample: DraftTrainingSample = {
          tokens: current.tokens,
          promptLength: current.promptLength,
          rejected: current.rejected,
          stepStarts: current.stepStarts,
          ...(recordVerified ? { verified: current.verified } : {}),
        };
        onSample?.(sample);
        if (updater) buffer.push(sample);
      }
      current = newGeneration([], 0);
      if (updater && buffer.length >= updateInterval) startUpdate(buffer.splice(0));
    },
  };
}

/**
 * Σ_x min(p(x), q(x)) for p = softmax(logits / temperature) and the draft distribution q (one-hot at
 * `token` when absent); at temperature 0, 1 when `token` is the argmax of `logits`, else 0.
 */
function acceptanceProbability(
  logits: Float32Array,
  temperature: number,
  token: number,
  q: Float32Array | undefined,
): number {
  let max = -Infinity;
  let argmax = 0;
  logits.forEach((value, id) => {
    if (value > max) [max, argmax] = [value, id];
  });
  if (!(temperature > 0)) return argmax === token ? 1 : 0;
  let sum = 0;
  for (const value of logits) sum += Math.exp((value - max) / temperature);
  if (!q) return Math.exp((logits[token] - max) / temperature) / sum;
  let alpha = 0;
  logits.forEach((value, id) => {
    alpha += Math.min(Math.exp((value - max) / temperature) / sum, q[id]);
  });
  return alpha;
}

/** The `k` most likely tokens of `logits` with their log-probabilities, most likely first. */
function topLogprobs(logits: Float32Array, k: number): { tokens: number[]; logprobs: number[] } {
  let max = -Infinity;
  for (const value of logits) if (value > max) max = value;
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const logZ = max + Math.log(sum);
  const order = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a] || a - b)
    .slice(0, k);
  return { tokens: order, logprobs: order.map(id => logits[id] - logZ) };
}

/** The strategy returned by `onlineSd()`; `drafter` exposes the buffer, the live draft and the history. */
export interface OnlineSpeculativeStrategy extends Strategy {
  readonly drafter: OnlineSdDrafter;
}

/**
 * Online speculative decoding as one lossless strategy: `onlineSdDrafter()` drafts chains with the current
 * draft model, the target verifies them (greedy match at temperature 0, speculative sampling otherwise),
 * and every `updateInterval` generations `updater` distils the draft on the rejected positions and the
 * drafter swaps the new weights in. Reuse one strategy across generations so the draft keeps adapting.
 *
 * @example
 * const updater = onlineDistiller({ ...readLlama2cCheckpoint(bytes), load }); // @decodekit/train
 * const strategy = onlineSd({ model: draft, updater });
 * const decoder = createDecoder({ model: target }).use(strategy);
 */
export function onlineSpeculative(options: OnlineSpeculativeOptions): OnlineSpeculativeStrategy {
  const drafter = onlineSdDrafter(options);
  const strategy = speculative({ drafter, budget: options.draftLength ?? 5, adaptive: false });
  const interval = options.updater ? `, every ${options.updateInterval ?? 8}` : ', frozen';
  return {
    ...strategy,
    name: `online-sd(${options.updater?.name ?? 'no updater'}${interval})`,
    drafter,
  };
}

function validate(options: OnlineSpeculativeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError({
      argument: 'options',
      message: 'pass { model } (the draft CausalLM), optionally with an updater.',
    });
  }
  const { updater, updateInterval, draftLength, topK, onSample, recordVerified } = options;
  DraftSession.validate({ ...options });
  if (
    updater !== undefined &&
    (typeof updater !== 'object' || typeof updater.update !== 'function')
  ) {
    throw new InvalidArgumentError({
      argument: 'updater',
      message:
        'must be a DraftUpdater ({ name, update(samples) }), e.g. onlineDistiller() of @decodekit/train.',
    });
  }
  for (const [argument, value] of [
    ['updateInterval', updateInterval],
    ['draftLength', draftLength],
    ['topK', topK],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${String(value)}.`,
      });
    }
  }
  if (recordVerified !== undefined && typeof recordVerified !== 'boolean') {
    throw new InvalidArgumentError({ argument: 'recordVerified', message: 'must be a boolean.' });
  }
  if (onSample !== undefined && typeof onSample !== 'function') {
    throw new InvalidArgumentError({ argument: 'onSample', message: 'must be a function.' });
  }
}
