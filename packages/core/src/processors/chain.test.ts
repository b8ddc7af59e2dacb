import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { LogitsProcessor } from '../types.js';
import { closeTo, probabilitiesAfter, processed } from './__fixtures__/logits.js';
import { badWords } from './bad-words.js';
import { chain } from './chain.js';
import { frequencyPenalty } from './frequency-penalty.js';
import { logitBias } from './logit-bias.js';
import { minP } from './min-p.js';
import { noRepeatNgram } from './no-repeat-ngram.js';
import { presencePenalty } from './presence-penalty.js';
import { repetitionPenalty } from './repetition-penalty.js';
import { softmax } from './softmax.js';
import { temperature } from './temperature.js';
import { topK } from './top-k.js';
import { topP } from './top-p.js';
import { typical } from './typical.js';

describe('chain', () => {
  const p = [0.1, 0.2, 0.3, 0.4];

  it.each<{ name: string; processor: LogitsProcessor<unknown>; expected: number[] }>([
    {
      name: 'minP(0.6) then temperature(2)',
      processor: chain(minP(0.6), temperature(2)),
      expected: [0, 0, 0.464102, 0.535898],
    },
    {
      name: 'temperature(2) then minP(0.6)',
      processor: chain(temperature(2), minP(0.6)),
      expected: [0, 0.274804, 0.336565, 0.388631],
    },
    {
      name: 'topK(3) then topP(0.5)',
      processor: chain(topK(3), topP(0.5)),
      expected: [0, 0, 0.428571, 0.571429],
    },
    {
      name: 'topP(0.5) then topK(1)',
      processor: chain(topP(0.5), topK(1)),
      expected: [0, 0, 0, 1],
    },
    {
      name: 'typical(0.4) then topK(1)',
      processor: chain(typical(0.4), topK(1)),
      expected: [0, 0, 1, 0],
    },
    {
      name: 'topK(1) then typical(0.4)',
      processor: chain(topK(1), typical(0.4)),
      expected: [0, 0, 0, 1],
    },
    { name: 'nothing', processor: chain(), expected: p },
  ])('applies in order: $name', ({ processor, expected }) => {
    expect(probabilitiesAfter(processor, p)).toEqual(closeTo(expected));
  });

  it('order matters for penalties and biases too', () => {
    // Bias first: token 0 becomes positive, so the penalty divides it. Penalty first: it multiplies -1.
    expect([...processed(chain(logitBias({ 0: 3 }), repetitionPenalty(2)), [-1, 0], [0])]).toEqual(
      closeTo([1, 0]),
    );
    expect([...processed(chain(repetitionPenalty(2), logitBias({ 0: 3 })), [-1, 0], [0])]).toEqual(
      closeTo([1, 0]),
    );
    expect([...processed(chain(logitBias({ 0: 2 }), repetitionPenalty(2)), [-1, 0], [0])]).toEqual(
      closeTo([0.5, 0]),
    );
    expect([...processed(chain(repetitionPenalty(2), logitBias({ 0: 2 })), [-1, 0], [0])]).toEqual(
      closeTo([0, 0]),
    );
  });

  it('holds a frozen tuple of states and reuses it when every part is stateless', () => {
    const stateless = chain(temperature(2), topK(2));
    const state = stateless.init([1, 2]);
    expect(state).toEqual([undefined, undefined]);
    expect(Object.isFrozen(state)).toBe(true);
    expect(stateless.advance(state, 3)).toBe(state);

    const stateful = chain(temperature(2), frequencyPenalty(1));
    const first = stateful.init([]);
    const second = stateful.advance(first, 3);
    expect(second).not.toBe(first);
    expect(first[1]).toBeNull();
    expect(second[1]).toMatchObject({ token: 3, length: 1 });
    expect(stateful.name).toBe('chain(temperature(2), frequency-penalty(1))');
  });

  const factories: ((random: number) => LogitsProcessor<unknown>)[] = [
    random => temperature(0.1 + 3 * random),
    random => topK(Math.floor(random * 6)),
    random => topP(Math.max(0.01, random)),
    random => minP(random),
    random => typical(Math.max(0.01, random)),
    random => repetitionPenalty(1 + 2 * random),
    random => presencePenalty(2 * random),
    random => frequencyPenalty(2 * random),
    random => noRepeatNgram(1 + Math.floor(random * 3)),
    random => badWords([[Math.floor(random * 8)], [1, Math.floor(random * 8)]]),
    random => logitBias({ [Math.floor(random * 8)]: random < 0.3 ? -Infinity : 10 * random - 5 }),
  ];
  const processorArbitrary = fc.tuple(
    fc.nat(factories.length - 1),
    fc.double({ min: 0, max: 1, noNaN: true }),
  );
  const truncating = new Set([1, 2, 3, 4]);

  test.prop([
    fc.array(processorArbitrary, { maxLength: 6 }),
    fc.array(
      fc.oneof(
        fc.float({ noNaN: true, noDefaultInfinity: true, min: -30, max: 30 }),
        fc.constant(-Infinity),
      ),
      { minLength: 8, maxLength: 8 },
    ),
    fc.array(fc.nat(7), { maxLength: 12 }),
    fc.array(fc.nat(7), { maxLength: 12 }),
  ])(
    'probabilities after any chain sum to 1 (unless everything is banned)',
    (parts, logits, prefix, generated) => {
      const processor = chain(...parts.map(([index, random]) => factories[index](random)));
      const row = processed(processor, logits, prefix, generated);
      const finite = row.some(value => value !== -Infinity);
      // Only bans (bad words, n-grams, bias) can empty a row; the truncating warpers always keep one.
      if (
        logits.some(value => value !== -Infinity) &&
        parts.every(([index]) => truncating.has(index) || index === 0)
      ) {
        expect(finite).toBe(true);
      }
      if (finite) expect(softmax(row).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
    },
  );
});
