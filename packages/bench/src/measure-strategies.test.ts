/** measureArgs: a measure script's `[names...] [--repeats N]`, checked, with factories run only for the names picked. */
import { InvalidArgumentError, speculative, type Strategy } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { measureArgs } from './measure-strategies.js';

function configurations(made: string[]): Record<string, () => Strategy> {
  const make = (name: string) => () => {
    made.push(name);
    return speculative({ drafter: { name, propose: () => undefined } });
  };
  return { 'a budget 8': make('a budget 8'), b: make('b') };
}

describe('measureArgs', () => {
  it('runs every configuration by default, twice over each prompt set', () => {
    const made: string[] = [];
    const args = measureArgs([], configurations(made));
    expect(args.names).toEqual(['a budget 8', 'b']);
    expect(args.repeats).toBe(2);
    expect(Object.keys(args.strategies)).toEqual(['a budget 8', 'b']);
    expect(made).toEqual(['a budget 8', 'b']);
  });

  it('picks the named ones (factories of the others never run) and reads --repeats anywhere', () => {
    const made: string[] = [];
    const args = measureArgs(['--repeats', '3', 'b'], configurations(made), { repeats: 1 });
    expect(args).toMatchObject({ names: ['b'], repeats: 3 });
    expect(made).toEqual(['b']);
    expect(measureArgs([], {}, { repeats: 5 }).repeats).toBe(5);
  });

  it('rejects an unknown name and a --repeats that is not a positive integer', () => {
    for (const argv of [['c'], ['--repeats', 'x'], ['--repeats', '0'], ['--repeats']]) {
      const run = () => measureArgs(argv, configurations([]));
      expect(run).toThrow(InvalidArgumentError);
    }
    expect(() => measureArgs(['c'], configurations([]))).toThrow(/known: "a budget 8", "b"/);
  });
});
