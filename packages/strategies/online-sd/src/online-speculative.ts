import {
  DraftSession,
  InvalidArgumentError,
  draftDistribution,
  speculative,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  Strategy,
  VerifyResult,
} from '@decodekit/core';

/** Options of `onlineSdDrafter()` and `onlineSpeculative()`. */
export interface OnlineSpeculativeOptions {
  /** The draft model. Must share the target's vocabulary. */
  model: CausalLM;
  /**
   * Step size of the online gradient step on KL(p_target ‖ q_draft) per verified row. Default 0.5.
   * 0 freezes the correction (plain draft-model speculative sampling).
   */
  learningRate?: number;
  /**
   * Which correction is learned. `'bias'`: one logit-bias vector b for every position. `'bigram'`
   * (default): b plus a bias row per previous token (the token the draft conditions on last), created
   * the first time that token is seen — a context-dependent correction that stays cheap in memory
   * (one vocab-sized row per distinct previous token).
   */
  correction?: 'bias' | 'bigram';
  /** Tokens drafted per step (a chain). Default 4. */
  draftLength?: number;
  /**
   * Temperature of the corrected draft distribution q = softmax((logits + correction) / temperature).
   * Default: the decoder's temperature (greedy drafts when the decoder is greedy).
   */
  temperature?: number;
  /** Layers the draft forwards skip (`capabilities.layerSkip`): self-drafting with the target minus layers. */
  skipLayers?: readonly number[];
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** Acceptance counts of one generation, in order. */
export interface OnlineSdRecord {
  readonly proposed: number;
  readonly accepted: number;
  /** Verified rows the correction was fitted on. */
  readonly fittedRows: number;
}

/** An online-SD drafter; its correction persists across generations of this instance. */
export interface OnlineSdDrafter extends Drafter {
  readonly name: 'online-sd';
  /** Draft-model forward calls made so far. */
  readonly draftForwards: number;
  /** One record per finished generation (acceptance over time). */
  readonly history: readonly OnlineSdRecord[];
  /** The learned global logit bias (live view). [vocab] */
  readonly bias: Float32Array;
  /** Clears the learned correction and the history. */
  reset(): void;
}

/**
 * Online speculative decoding's drafter (after Liu et al., 2023, "Online Speculative Decoding",
 * https://arxiv.org/abs/2310.07177). The paper distils the draft model's weights on the traffic it
 * serves; here the draft model stays frozen and a correction on its output logits is learned instead:
 * q = softmax((z + b + B[prev]) / T). After every verification, at each verified row (a draft position
 * whose prefix the target accepted) the drafter takes one gradient step on KL(p ‖ q), where p is the
 * target's distribution at that row: ∇_b KL = (q − p) / T, so b ← b − lr·(q − p)/T (likewise B[prev]).
 * The correction persists across generations of the drafter.
 *
 * Exactness does not depend on the correction: drafts are drawn from the corrected q, which is handed to
 * the verifier as `q` / `qDistributions`, so speculative sampling keeps the target distribution (greedy
 * match at temperature 0).
 */
export function onlineSdDrafter(options: OnlineSpeculativeOptions): OnlineSdDrafter {
  const {
    model,
    learningRate = 0.5,
    correction = 'bigram',
    draftLength = 4,
    temperature,
    skipLayers,
    seed = 0,
  } = options ?? ({} as OnlineSpeculativeOptions);
  validate(options);

  const session = new DraftSession(model, { skipLayers, temperature, seed });
  const { sampler } = session;
  const vocab = model.info.vocabSize;
  const bias = new Float32Array(vocab);
  const rows = new Map<number, Float32Array>();
  const history: OnlineSdRecord[] = [];
  let current = { proposed: 0, accepted: 0, fittedRows: 0 };
  /** Corrected draft logits of the last draft, one vocab row per draft row, and each row's previous token. */
  let lastLogits: Float32Array[] = [];
  let lastPrev: number[] = [];

  /** Raw draft logits plus the learned correction for a row conditioned last on `prev`. */
  function corrected(raw: ArrayLike<number>, prev: number): Float32Array {
    const out = new Float32Array(vocab);
    const row = correction === 'bigram' ? rows.get(prev) : undefined;
    for (let i = 0; i < vocab; i++) out[i] = raw[i] + bias[i] + (row ? row[i] : 0);
    return out;
  }

  async function propose(context: DraftContext): Promise<DraftTree | undefined> {
    lastLogits = [];
    lastPrev = [];
    const length = session.fitChain(context, draftLength);
    if (length < 1) return undefined;
    // The drafts are drawn from the corrected logits, which the verifier sees as q.
    return session.draftChain(context.tokens, {
      count: length,
      temperature: sampler.temperatureFor(context),
      probabilities: true,
      commit: false,
      transform(raw, { previous }) {
        const logits = corrected(raw, previous);
        lastLogits.push(logits);
        lastPrev.push(previous);
        return logits;
      },
      signal: context.signal,
    });
  }

  /** One online gradient step on KL(p_target ‖ q_corrected) at every verified row. */
  function observe(result: VerifyResult): void {
    const proposed = result.tree.tokens.length;
    const accepted = result.acceptedRows.length;
    current.proposed += proposed;
    current.accepted += accepted;
    if (learningRate === 0) return;
    // Target row r (row 0 = the pending token) predicts draft row r; it saw the true context when
    // draft rows 0..r−1 were all accepted.
    const fitted = Math.min(accepted + 1, proposed, lastLogits.length);
    const t = sampler.temperature > 0 ? sampler.temperature : 1;
    const p = new Float32Array(vocab);
    const qd = new Float32Array(vocab);
    for (let r = 0; r < fitted; r++) {
      draftDistribution(
        result.logits.subarray(r * result.vocabSize, (r + 1) * result.vocabSize),
        t,
        p,
      );
      draftDistribution(lastLogits[r], t, qd);
      let row: Float32Array | undefined;
      if (correction === 'bigram') {
        row = rows.get(lastPrev[r]);
        if (!row) rows.set(lastPrev[r], (row = new Float32Array(vocab)));
      }
      const step = learningRate / t;
      for (let i = 0; i < vocab; i++) {
        const g = step * (qd[i] - p[i]);
        bias[i] -= g;
        if (row) row[i] -= g;
      }
    }
    current.fittedRows += fitted;
  }

  return {
    name: 'online-sd',
    providesProbabilities: true,
    preferredBudget: draftLength,
    get draftForwards() {
      return session.forwards;
    },
    get history() {
      return history;
    },
    bias,
    reset() {
      bias.fill(0);
      rows.clear();
      history.length = 0;
    },
    begin(context) {
      session.begin(context);
      current = { proposed: 0, accepted: 0, fittedRows: 0 };
    },
    propose,
    observe,
    end() {
      history.push(current);
      current = { proposed: 0, accepted: 0, fittedRows: 0 };
      session.end();
      lastLogits = [];
      lastPrev = [];
    },
  };
}

/** The strategy returned by `onlineSpeculative()`; `drafter` exposes the learned state and history. */
export interface OnlineSpeculativeStrategy extends Strategy {
  readonly drafter: OnlineSdDrafter;
}

/**
 * Online speculative decoding as one lossless strategy: `onlineSdDrafter()` drafts a chain with the
 * corrected draft distribution, the target verifies it by speculative sampling (greedy match at
 * temperature 0), and the drafter fits its logit correction from every verification. Reuse one strategy
 * across generations (decoders) so the correction keeps adapting to the traffic.
 *
 * @example
 * const strategy = onlineSpeculative({ model: draft, learningRate: 0.5 });
 * const decoder = createDecoder({ model: target }).use(strategy);
 */
export function onlineSpeculative(options: OnlineSpeculativeOptions): OnlineSpeculativeStrategy {
  const drafter = onlineSdDrafter(options);
  const strategy = speculative({ drafter, budget: options.draftLength ?? 4, adaptive: false });
  return { ...strategy, name: `online-sd(lr=${options.learningRate ?? 0.5})`, drafter };
}

function validate(options: OnlineSpeculativeOptions): void {
  const { learningRate, correction, draftLength } = options ?? ({} as OnlineSpeculativeOptions);
  DraftSession.validate({ ...options });
  if (
    learningRate !== undefined &&
    (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0)
  ) {
    throw new InvalidArgumentError({
      argument: 'learningRate',
      message: `must be a finite number ≥ 0, got ${String(learningRate)}.`,
    });
  }
  if (correction !== undefined && correction !== 'bias' && correction !== 'bigram') {
    throw new InvalidArgumentError({
      argument: 'correction',
      message: `must be 'bias' or 'bigram', got ${String(correction)}.`,
    });
  }
  if (draftLength !== undefined && (!Number.isInteger(draftLength) || draftLength < 1)) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${String(draftLength)}.`,
    });
  }
}
