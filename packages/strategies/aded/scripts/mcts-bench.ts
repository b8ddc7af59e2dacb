/** Micro-benchmark of one ADED draft (MCTS + tree) on the default store: node <tsx>/cli.mjs scripts/mcts-bench.ts */
import { readFileSync } from 'node:fs';
import { aded, deserializeAdedStore } from '../src/index.js';
const store = deserializeAdedStore(readFileSync('.aded/stories260K.aded'));
const tokens = [1, 403, 407, 261, 1079 % 512, 266, 291, 278, 264, 402, 17, 260, 262, 301, 271, 386];
const drafter = aded({ store });
const ctx = (t: number[]) => ({
  tokens: t,
  promptLength: 2,
  maxNodes: 16,
  remaining: 100,
  treeCapable: true,
  greedy: true,
});
for (let i = 0; i < 300; i++) drafter.propose(ctx(tokens.slice(0, 2 + (i % 14))));
const n = 3000;
const s = performance.now();
let rows = 0;
for (let i = 0; i < n; i++)
  rows += drafter.propose(ctx(tokens.slice(0, 2 + (i % 14))))?.tokens.length ?? 0;
console.log(
  (((performance.now() - s) / n) * 1000).toFixed(1),
  'µs per propose',
  (rows / n).toFixed(1),
  'rows',
);
