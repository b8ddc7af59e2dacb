import { InvalidArgumentError, type DecodeEvent } from '@decodekit/core';

/** One decode-time target forward of a speculative generation, as its events tell it. */
export interface DraftStepRecord {
  /** Draft tokens verified in this forward (0 when the drafter had none). */
  readonly drafted: number;
  /** Draft tokens the target accepted. */
  readonly accepted: number;
  /** Tokens the generation emitted after this forward (accepted + bonus, fewer at EOS or the length limit). */
  readonly emitted: number;
}

/**
 * The run log of speculative generations: per generation, its steps in order, plus tokens emitted before the first
 * step (by the prefill forward, when the strategy emits one there). Plain JSON, so a run can be stored and its
 * metrics recomputed offline.
 */
export interface DraftRunLog {
  readonly generations: readonly {
    readonly prefillTokens: number;
    readonly steps: readonly DraftStepRecord[];
  }[];
}

/** FastDraft's harness metrics of a run (Zafrir et al., 2024, §4). */
export interface FastDraftMetrics {
  /** Accepted draft tokens / drafted tokens. */
  readonly acceptanceRate: number;
  /** Block efficiency τ: tokens generated per decode-time target forward (Σ emitted / steps). */
  readonly blockEfficiency: number;
  /** Mean draft tokens per target forward (γ; the draft model runs one forward per draft token). */
  readonly meanDraftLength: number;
  /** c = draft parameters / target parameters: the cost of one draft forward in target forwards. */
  readonly parameterRatio: number;
  /**
   * Memory-bound speedup MBSU = τ / (1 + c·γ): tokens per unit of weight traffic relative to autoregressive
   * decoding, when a forward costs the bytes of weights it reads (memory-bound decoding). With a variable draft
   * length, γ is the mean, which makes it Σ emitted / (steps + c·Σ drafted), exactly.
   */
  readonly memoryBoundSpeedup: number;
  readonly steps: number;
  readonly generatedTokens: number;
  readonly draftedTokens: number;
  readonly acceptedTokens: number;
}

/**
 * The harness metrics of a run log (see `FastDraftMetrics`). Steps count decode-time target forwards, as decodekit's
 * τ does (`DecodeStats.meanAcceptedTokens`); tokens the prefill emitted count in neither.
 * @param log the run log (`recordDraftRun`)
 * @param parameters parameter counts of the draft and the target
 * @throws InvalidArgumentError for non-positive parameter counts or a log without steps
 */
export function fastDraftMetrics(
  log: DraftRunLog,
  parameters: { draft: number; target: number },
): FastDraftMetrics {
  if (!(parameters?.draft > 0) || !(parameters.target > 0)) {
    throw new InvalidArgumentError({
      argument: 'parameters',
      message: `draft and target parameter counts must be positive, got ${JSON.stringify(parameters)}.`,
    });
  }
  let steps = 0;
  let generatedTokens = 0;
  let draftedTokens = 0;
  let acceptedTokens = 0;
  for (const generation of log.generations) {
    for (const step of generation.steps) {
      steps++;
      generatedTokens += step.emitted;
      draftedTokens += step.drafted;
      acceptedTokens += step.accepted;
    }
  }
  if (steps === 0) {
    throw new InvalidArgumentError({
      argument: 'log',
      message: 'has no decode-time target forwards: record at least one speculative generation.',
    });
  }
  const parameterRatio = parameters.draft / parameters.target;
  const blockEfficiency = generatedTokens / steps;
  const meanDraftLength = draftedTokens / steps;
  return {
    acceptanceRate: draftedTokens > 0 ? acceptedTokens / draftedTokens : 0,
    blockEfficiency,
    meanDraftLength,
    parameterRatio,
    memoryBoundSpeedup: blockEfficiency / (1 + parameterRatio * meanDraftLength),
    steps,
    generatedTokens,
    draftedTokens,
    acceptedTokens,
  };
}

/**
 * Records the run log of one generation from its event stream (`decoder.stream(...)`): a `draft` event gives the
 * next step's drafted rows, each `verify` event closes a step, and `token` events count what the step emitted.
 * Passes the events through, so the caller can still use them.
 */
export function recordDraftRun(
  events: AsyncIterable<DecodeEvent>,
  log: { generations: DraftRunLog['generations'][number][] },
): AsyncIterable<DecodeEvent> {
  return {
    async *[Symbol.asyncIterator]() {
      const steps: DraftStepRecord[] = [];
      let prefillTokens = 0;
      let drafted = 0;
      let open: { drafted: number; accepted: number; emitted: number } | undefined;
      const close = () => {
        if (open) steps.push(open);
        open = undefined;
      };
      try {
        for await (const event of events) {
          if (event.type === 'draft') drafted = event.tree.tokens.length;
          else if (event.type === 'verify') {
            close();
            open = { drafted, accepted: event.acceptedRows.length, emitted: 0 };
            drafted = 0;
          } else if (event.type === 'token') {
            if (open) open.emitted++;
            else prefillTokens++;
          }
          yield event;
        }
      } finally {
        close();
        log.generations.push({ prefillTokens, steps });
      }
    },
  };
}
