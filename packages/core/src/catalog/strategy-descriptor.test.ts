import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { Drafter } from '../strategy.js';
import { mockModel } from '../testing/mock-model.js';
import {
  createFromDescriptor,
  descriptorOptions,
  parseStrategyOptions,
  readOptionFile,
  type StrategyDescriptor,
} from './strategy-descriptor.js';

const drafter: Drafter = { name: 'nothing', propose: () => undefined };
const descriptor: StrategyDescriptor = {
  id: 'test-drafter',
  packageName: '@decodekit/test',
  description: 'a drafter for the test',
  returns: 'drafter',
  lossless: true,
  options: {
    width: { type: 'integer', default: 2, min: 1, max: 8, help: 'width' },
    ratio: { type: 'number', min: 0, max: 1, help: 'ratio' },
    mode: { type: 'enum', values: ['a', 'b'], help: 'mode' },
    store: { type: 'string', help: 'a file' },
  },
  create: () => ({ drafter, budget: 12 }),
};

describe('strategy descriptors', () => {
  it('drafters get speculative()’s budget and adaptive options', () => {
    expect(Object.keys(descriptorOptions(descriptor))).toEqual([
      'budget',
      'adaptive',
      'width',
      'ratio',
      'mode',
      'store',
    ]);
  });

  it('parses strings that spell numbers and booleans, and leaves absent options absent', () => {
    expect(
      parseStrategyOptions(descriptor, {
        width: '3',
        ratio: 0.5,
        mode: 'b',
        adaptive: 'false',
        store: 'x.bin',
      }),
    ).toEqual({
      width: 3,
      ratio: 0.5,
      mode: 'b',
      adaptive: false,
      store: 'x.bin',
    });
    expect(parseStrategyOptions(descriptor, {})).toEqual({});
  });

  it.each([
    [{ nope: 1 }, /no option "nope"; it accepts: budget, adaptive, width/],
    [{ width: 2.5 }, /"width" must be an integer in 1..8/],
    [{ width: 9 }, /"width" must be in 1..8/],
    [{ width: 'wide' }, /finite number/],
    [{ ratio: Number.NaN }, /finite number/],
    [{ ratio: Infinity }, /finite number/],
    [{ mode: 'c' }, /one of a, b/],
    [{ adaptive: 'yes' }, /true or false/],
    [{ store: '' }, /non-empty string/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseStrategyOptions(descriptor, raw)).toThrow(InvalidArgumentError);
    expect(() => parseStrategyOptions(descriptor, raw)).toThrow(message);
  });

  it('runs a drafter through speculative() with the descriptor’s budget unless the user gives one', async () => {
    const model = mockModel({ vocabSize: 4, logits: () => Float32Array.of(0, 1, 2, 3) });
    const built = await createFromDescriptor(descriptor, {}, { model });
    expect(built.strategy?.name).toBe('speculative(nothing)');
    const needsDraft: StrategyDescriptor = {
      ...descriptor,
      secondModel: { required: true, role: 'draft model' },
    };
    await expect(createFromDescriptor(needsDraft, {}, { model })).rejects.toThrow(
      /needs a draft model/,
    );
  });

  it('reads option files through the environment and says how to make a missing one', async () => {
    const model = mockModel({ vocabSize: 4, logits: () => Float32Array.of(0, 1, 2, 3) });
    const files = new Map([['heads.json', Uint8Array.of(1, 2)]]);
    const environment = { model, readFile: (path: string) => files.get(path) };
    expect(await readOptionFile(environment, 'medusa', 'heads.json')).toEqual(Uint8Array.of(1, 2));
    await expect(
      readOptionFile(environment, 'medusa', 'nope.json', 'train one first.'),
    ).rejects.toThrow(/"medusa": no file at "nope.json"; train one first\./);
    await expect(readOptionFile({ model }, 'medusa', 'heads.json')).rejects.toThrow(
      /no file access/,
    );
  });
});
