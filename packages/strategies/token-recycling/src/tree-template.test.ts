import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { TREE_TEMPLATE_2_2_2, compileTreeTemplate } from './tree-template.js';

describe('TREE_TEMPLATE_2_2_2', () => {
  it("has the paper's 80 nodes on 6 levels of 8, 21, 25, 15, 8 and 3", () => {
    expect(TREE_TEMPLATE_2_2_2).toHaveLength(80);
    const perLevel = [0, 0, 0, 0, 0, 0];
    for (const path of TREE_TEMPLATE_2_2_2) perLevel[path.length - 1]++;
    expect(perLevel).toEqual([8, 21, 25, 15, 8, 3]);
    expect(new Set(TREE_TEMPLATE_2_2_2.map(path => path.join(','))).size).toBe(80);
  });

  it('follows the official listing at the level boundaries', () => {
    expect(TREE_TEMPLATE_2_2_2.slice(8, 12)).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    expect(TREE_TEMPLATE_2_2_2.slice(16, 20)).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(TREE_TEMPLATE_2_2_2[28]).toEqual([7, 0]);
    expect(TREE_TEMPLATE_2_2_2.slice(29, 31)).toEqual([
      [0, 0, 0],
      [0, 0, 1],
    ]);
    expect(TREE_TEMPLATE_2_2_2.slice(47, 54)).toEqual([
      [1, 0, 0],
      [1, 0, 1],
      [1, 1, 0],
      [2, 0, 0],
      [3, 0, 0],
      [4, 0, 0],
      [5, 0, 0],
    ]);
    expect(TREE_TEMPLATE_2_2_2.slice(77)).toEqual([
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 1],
      [0, 0, 0, 1, 0, 0],
    ]);
  });

  it('compiles breadth-first with parents before children', () => {
    const compiled = compileTreeTemplate(TREE_TEMPLATE_2_2_2, 8);
    expect(compiled.size).toBe(80);
    expect(compiled.maxDepth).toBe(6);
    for (let node = 0; node < compiled.size; node++) {
      const parent = compiled.parents[node];
      expect(parent).toBeLessThan(node);
      expect(compiled.depths[node]).toBe(parent < 0 ? 1 : compiled.depths[parent] + 1);
      if (node > 0) expect(compiled.depths[node]).toBeGreaterThanOrEqual(compiled.depths[node - 1]);
      const path = TREE_TEMPLATE_2_2_2[node];
      expect(compiled.ranks[node]).toBe(path[path.length - 1]);
    }
  });
});

describe('compileTreeTemplate', () => {
  it('sorts a depth-first template breadth-first (stable)', () => {
    const compiled = compileTreeTemplate([[0], [0, 0], [0, 0, 0], [1], [0, 1]], 2);
    expect([...compiled.depths]).toEqual([1, 1, 2, 2, 3]);
    expect([...compiled.ranks]).toEqual([0, 1, 0, 1, 0]);
    expect([...compiled.parents]).toEqual([-1, -1, 0, 0, 2]);
  });

  it.each([
    { template: [], why: 'empty' },
    { template: [[0], [0, 8]], why: 'rank outside topK' },
    { template: [[0], [1, 0]], why: 'missing parent' },
    { template: [[0], [0]], why: 'duplicate node' },
    { template: [[0], [-1]], why: 'negative rank' },
  ])('rejects a template with $why', ({ template }) => {
    expect(() => compileTreeTemplate(template, 8)).toThrow(InvalidArgumentError);
  });
});
