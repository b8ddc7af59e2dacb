import { describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import { compileConstraint, MAX_COMPILED_CONSTRAINTS } from './constraint-processor.js';
import { compileJsonSchema } from './json-schema-compiler.js';

describe('compiled constraint cache', () => {
  it('keeps the most recently used constraints per tokenizer, not every one ever seen', () => {
    const tokenizer = byteTokenizer();
    const builds: number[] = [];
    const compile = (n: number) =>
      compileConstraint(
        tokenizer,
        `const:${n}`,
        () => (builds.push(n), compileJsonSchema({ const: n })),
        'schema',
      );
    const first = compile(0);
    for (let n = 1; n < MAX_COMPILED_CONSTRAINTS; n++) compile(n);
    expect(compile(0)).toBe(first); // still cached, and now the most recent
    compile(MAX_COMPILED_CONSTRAINTS); // evicts the least recent: 1
    expect(builds.length).toBe(MAX_COMPILED_CONSTRAINTS + 1);
    expect(compile(0)).toBe(first);
    compile(1);
    expect(builds.at(-1)).toBe(1); // 1 was compiled again
    expect(builds.length).toBe(MAX_COMPILED_CONSTRAINTS + 2);
  });
});
