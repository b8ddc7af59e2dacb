import type { LogitsProcessor } from '../types.js';

/** The state type of a processor. */
export type ProcessorState<TProcessor> =
  TProcessor extends LogitsProcessor<infer TState> ? TState : never;

/** The tuple of states of a chain of processors, one per processor, in order. */
export type ChainState<TProcessors extends readonly LogitsProcessor<unknown>[]> = {
  readonly [TIndex in keyof TProcessors]: ProcessorState<TProcessors[TIndex]>;
};

/**
 * Composes processors into one, applied in the given order (as llama.cpp's sampler chain): the order is
 * part of the meaning, e.g. `chain(topK(40), temperature(0.7))` differs from
 * `chain(temperature(0.7), topP(0.9))` in which tokens survive.
 *
 * The chain's state is a frozen tuple holding each processor's state at the same index. `advance`
 * returns the same tuple when no processor's state changed (all stateless), else a new tuple; it never
 * mutates the old one, so a chain forks as cheaply as its parts. `chain()` with no processors is a no-op.
 */
export function chain<const TProcessors extends readonly LogitsProcessor<unknown>[]>(
  ...processors: TProcessors
): LogitsProcessor<ChainState<TProcessors>> {
  const parts = [...processors];
  type TState = ChainState<TProcessors>;
  return {
    name:
      parts.length === 0
        ? 'chain()'
        : `chain(${parts.map(processor => processor.name).join(', ')})`,
    init: (prefix, context) =>
      Object.freeze(parts.map(processor => processor.init(prefix, context))) as unknown as TState,
    advance(state, token) {
      const states = state as readonly unknown[];
      let next: unknown[] | undefined;
      for (let i = 0; i < parts.length; i++) {
        const updated = parts[i].advance(states[i], token);
        if (next === undefined && updated !== states[i]) next = states.slice(0, i);
        next?.push(updated);
      }
      return next === undefined ? state : (Object.freeze(next) as unknown as TState);
    },
    process(logits, state) {
      const states = state as readonly unknown[];
      for (let i = 0; i < parts.length; i++) parts[i].process(logits, states[i]);
    },
  };
}
