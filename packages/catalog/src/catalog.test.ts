import { InvalidArgumentError, createFromDescriptor, type CausalLM } from '@decodekit/core';
import { describe, expect, it, assert } from 'vitest';
import {
  autoregressiveDescriptor,
  describeStrategies,
  findStrategy,
  parseStrategySpec,
  resolveStrategySpec,
  STRATEGY_DESCRIPTORS,
  strategyHelp,
  strategyNames,
} from './index.js';

describe('STRATEGY_DESCRIPTORS', () => {
  it('has unique ids and aliases, each with a package, a description and options with help', () => {
    const names = strategyNames();
    expect(new Set(names).size).toBe(names.length);
    for (const descriptor of STRATEGY_DESCRIPTORS) {
      expect(descriptor.packageName).toMatch(/^@decodekit\//);
      expect(descriptor.description.length).toBeGreaterThan(10);
      for (const option of Object.values(descriptor.options))
        expect(option.help.length).toBeGreaterThan(0);
    }
    expect(STRATEGY_DESCRIPTORS[0]).toBe(autoregressiveDescriptor);
    expect(STRATEGY_DESCRIPTORS.map(descriptor => descriptor.id)).not.toContain('easyspec');
  });

  it('finds descriptors by id and alias', () => {
    expect(findStrategy('greedy')).toBe(autoregressiveDescriptor);
    expect(findStrategy('autoregressive')?.id).toBe('ar');
    expect(findStrategy('token-recycling')?.packageName).toBe(
      '@decodekit/strategy-token-recycling',
    );
    expect(findStrategy('warp-drive')).toBeUndefined();
    expect(findStrategy('ar', [])).toBeUndefined();
  });
});

describe('parseStrategySpec', () => {
  it.each([
    { spec: 'ar', expected: { name: 'ar', options: {} } },
    {
      spec: 'token-recycling:budget=32,topK=8',
      expected: { name: 'token-recycling', options: { budget: 32, topK: 8 } },
    },
    {
      spec: ' lookahead : windowSize = 4 ,',
      expected: { name: 'lookahead', options: { windowSize: 4 } },
    },
    {
      spec: 'x:adaptive=false,prefer=latest,store=a:b',
      expected: { name: 'x', options: { adaptive: false, prefer: 'latest', store: 'a:b' } },
    },
  ])('$spec', ({ spec, expected }) => {
    expect(parseStrategySpec(spec)).toEqual(expected);
  });

  it.each([':budget=1', 'token-recycling:budget', 'token-recycling:=3'])(
    'rejects %j with the argument it is given',
    spec => {
      const error = (() => {
        try {
          parseStrategySpec(spec, { argument: 'decodekit.strategy' });
        } catch (caught) {
          return caught;
        }
      })();
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('decodekit.strategy');
    },
  );
});

describe('resolveStrategySpec', () => {
  it('returns the descriptor and options checked by parseStrategyOptions', () => {
    const resolved = resolveStrategySpec(
      'prompt-lookup:maxNgramSize=2,prefer=earliest,adaptive=false',
    );
    expect(resolved.descriptor.id).toBe('prompt-lookup');
    expect(resolved.options).toEqual({ maxNgramSize: 2, prefer: 'earliest', adaptive: false });
  });

  it.each([
    {
      spec: 'warp-drive',
      message: /unknown strategy "warp-drive"; known: ar, autoregressive, greedy, prompt-lookup/,
    },
    {
      spec: 'token-recycling:width=3',
      message: /"token-recycling" has no option "width"; it accepts: budget, adaptive, topK\./,
    },
    { spec: 'token-recycling:budget=-1', message: /option "budget" must be in 1\.\.1024/ },
    { spec: 'token-recycling:topK=2.5', message: /option "topK" must be an integer/ },
    { spec: 'prompt-lookup:prefer=middle', message: /must be one of latest, earliest/ },
    { spec: 'ar:adaptive=true', message: /"ar" has no option "adaptive"; it accepts: \(none\)/ },
  ])('rejects $spec with a typed error', ({ spec, message }) => {
    expect(() => resolveStrategySpec(spec)).toThrow(message);
    expect(() => resolveStrategySpec(spec)).toThrow(InvalidArgumentError);
  });

  it('lets the caller phrase unknown names and restrict the catalogue', () => {
    expect(() =>
      resolveStrategySpec('prompt-lookup', {
        descriptors: [autoregressiveDescriptor],
        argument: 'decodekit.strategy',
        unknownMessage: (name, names) => `no "${name}" here; offered: ${names.join('/')}`,
      }),
    ).toThrow('no "prompt-lookup" here; offered: ar/autoregressive/greedy');
  });

  it('builds a drafter descriptor into a speculative strategy', async () => {
    const { descriptor, options } = resolveStrategySpec('token-recycling:topK=4,budget=8');
    const setup = await createFromDescriptor(descriptor, options, { model: {} as CausalLM });
    expect(setup.strategy?.name).toMatch(/token-recycling/);
  });
});

describe('help', () => {
  it('lists every strategy with its options, types and defaults', () => {
    const summaries = describeStrategies();
    expect(summaries.map(summary => summary.name)).toEqual(
      STRATEGY_DESCRIPTORS.map(descriptor => descriptor.id),
    );
    const tokenRecycling = summaries.find(summary => summary.name === 'token-recycling');
    assert(tokenRecycling, 'token-recycling is in the catalogue');
    expect(tokenRecycling.keys).toEqual(['budget', 'adaptive', 'topK']);
    expect(tokenRecycling.options).toBe(
      'budget=<integer>, adaptive=<boolean> (default true), topK=<integer> (default 8)',
    );
    const help = strategyHelp();
    expect(help.split('\n').slice(0, 3)).toEqual([
      '',
      'Strategies (NAME[:key=value,...]):',
      '  ar  autoregressive decoding (the baseline)',
    ]);
    expect(help).toContain('prefer=<latest|earliest> (default latest)');
  });
});
