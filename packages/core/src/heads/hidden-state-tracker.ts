/** Reads a target's final hidden states back from verification logits, for drafters over hidden states. */
import { InvalidArgumentError, UnsupportedCapabilityError } from '../errors.js';
import type { CausalLM } from '../types.js';
import type { VerifyResult } from '../strategy.js';
import { HiddenFromLogits } from './linear-algebra.js';
import type { TrainedHeadHeader } from './weights-file.js';

const pseudoInverses = new WeakMap<Float32Array, HiddenFromLogits>();

/** Options of `hiddenStateTracker`. */
export interface HiddenStateTrackerOptions {
  /** Strategy id (`eagle`), as in `decodekit train <id>`. */
  readonly id: string;
  /** Name in messages (`EAGLE`). */
  readonly label: string;
  /** What the weights are, in messages ("a drafter", "heads"). */
  readonly noun?: string;
  readonly weights: TrainedHeadHeader;
  /** The target's LM head [vocab, hidden]; default `model.embeddingTable()` (tied in models converted by decodekit). */
  readonly lmHead?: Float32Array;
  /** Most recent hidden states kept (1: only the row that produced the pending token). Default 1. */
  readonly history?: number;
}

/** What `hiddenStateTracker` returns: the drafter calls it from `begin`, `propose`, `observe` and `end`. */
export interface HiddenStateTracker {
  /** Reads and checks the target's LM head; returns it. Throws typed errors with what to do. */
  begin(model: CausalLM): Float32Array;
  /**
   * The recovered hidden states of the last committed positions, oldest first; the last one is the state
   * of the row that produced the pending token. Undefined when they do not belong to `tokens` (the first
   * step of a generation, before any verification).
   */
  current(tokens: readonly number[]): readonly Float32Array[] | undefined;
  /** Recovers the hidden states of every committed row of a verification (the pending token, the accepted rows). */
  observe(result: VerifyResult): void;
  end(): void;
}

/**
 * Tracks the target's final hidden states without asking the engine for them: a Llama LM head E without bias
 * maps h to l = E h, so h is read back from a verification row's logits through E's pseudo-inverse
 * (`HiddenFromLogits`), exactly up to float rounding. Shared by Medusa, EAGLE, FSPAD and Chimera.
 */
export function hiddenStateTracker({
  id,
  label,
  noun = 'a drafter',
  weights,
  lmHead,
  history = 1,
}: HiddenStateTrackerOptions): HiddenStateTracker {
  let recovery: HiddenFromLogits | undefined;
  let states: Float32Array[] = [];
  let length = -1;
  return {
    begin(model) {
      const table = lmHead ?? model.embeddingTable?.();
      if (!table) {
        throw new UnsupportedCapabilityError({
          capability: 'inputEmbeddings',
          backendId: model.capabilities.backendId,
          hint: `${label} needs the target embedding / LM head: use a model converted by decodekit (its tied embedding table) or pass ${id}({ lmHead }).`,
        });
      }
      const { vocabSize, hiddenSize } = weights;
      if (model.info.vocabSize !== vocabSize || table.length !== vocabSize * hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `were trained for ${weights.model} (vocab ${vocabSize}, hidden ${hiddenSize}); the target ${model.info.name} has vocab ${model.info.vocabSize} and an LM head of ${table.length} floats. Train ${noun} for this model with \`decodekit train ${id} --model ...\`.`,
        });
      }
      recovery = pseudoInverses.get(table);
      if (!recovery)
        pseudoInverses.set(table, (recovery = new HiddenFromLogits(table, vocabSize, hiddenSize)));
      states = [];
      length = -1;
      return table;
    },
    current(tokens) {
      return states.length > 0 && length === tokens.length ? states : undefined;
    },
    observe({ tokens, acceptedRows, emitted, logits, vocabSize }) {
      if (!recovery) return;
      // Forward row 0 is the pending token, draft row i is forward row i + 1; the bonus token was drawn
      // from the last committed row. Earlier rows only matter when more than one state is kept.
      const rows = [0, ...acceptedRows.map(row => row + 1)].slice(-history);
      if (length !== tokens.length) states = [];
      for (const row of rows) {
        states.push(recovery.recover(logits.subarray(row * vocabSize, (row + 1) * vocabSize)));
      }
      if (states.length > history) states = states.slice(-history);
      length = tokens.length + emitted.length;
    },
    end() {
      states = [];
      length = -1;
    },
  };
}
