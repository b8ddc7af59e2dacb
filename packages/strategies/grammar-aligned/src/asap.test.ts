import { createDecoder, mockModel, type Tokenizer } from '@decodekit/core';
import { regex } from '@decodekit/strategy-constrained';
import { describe, expect, it } from 'vitest';
import { asap } from './index.js';

/** Tokens: 0 = "0", 1 = "1", 2 = EOS. */
const tokenizer: Tokenizer = {
  vocabSize: 3,
  eosTokenIds: [2],
  encode: text => [...text].map(c => (c === '1' ? 1 : 0)),
  decode: ids => ids.filter(id => id !== 2).join(''),
  idToToken: id => (id === 2 ? '</s>' : String(id)),
  tokenBytes: id => (id === 2 ? undefined : Uint8Array.of(0x30 + id)),
  applyChatTemplate: messages => messages.map(m => m.content).join('\n'),
};

/** A toy LM whose next-token logits depend on the whole prefix (fixed pseudo-random table). */
function toyLanguageModel() {
  return mockModel({
    vocabSize: 3,
    eosTokenIds: [2],
    logits(context) {
      let h = 2166136261;
      for (const t of context) h = Math.imul(h ^ (t + 17), 16777619) >>> 0;
      return [0, 1, 2].map(
        t => ((Math.imul(h ^ (t * 7919), 2654435761) >>> 0) % 1000) / 250 - (t === 2 ? 0.5 : 0),
      );
    },
  });
}

const PATTERN = '1[01]{0,3}0'; // binary strings that start with 1 and end with 0, length 2..5
const PROMPT = [2];

/** Every grammatical string with its exact probability p(s) · p(EOS | s) (unnormalised) under the model. */
async function exactConditional(model: ReturnType<typeof toyLanguageModel>) {
  const strings = new Map<string, number>();
  const language = new RegExp(`^${PATTERN}$`);
  const visit = async (prefix: number[], probability: number): Promise<void> => {
    const sequence = model.createSequence();
    const tokens = [...PROMPT, ...prefix];
    const { logits } = await sequence.forward({ tokens: Int32Array.from(tokens) });
    sequence.dispose();
    const row = Array.from(logits.slice((tokens.length - 1) * 3, tokens.length * 3));
    const max = Math.max(...row);
    const sum = row.reduce((acc, value) => acc + Math.exp(value - max), 0);
    const p = row.map(value => Math.exp(value - max) / sum);
    const text = prefix.join('');
    if (language.test(text)) strings.set(text, probability * p[2]);
    if (prefix.length < 5) for (const t of [0, 1]) await visit([...prefix, t], probability * p[t]);
  };
  await visit([], 1);
  const total = [...strings.values()].reduce((a, b) => a + b, 0);
  return new Map([...strings].map(([text, value]) => [text, value / total]));
}

/** ASAp's current sampling distribution over the language, from its trie (θ = 1 where unexplored). */
async function samplerDistribution(
  model: ReturnType<typeof toyLanguageModel>,
  theta: (prefix: number[]) => number,
  strings: Iterable<string>,
) {
  const out = new Map<string, number>();
  const constraint = regex(PATTERN, { tokenizer });
  for (const text of strings) {
    const tokens = [...text].map(Number).concat(2);
    let probability = 1;
    let state = constraint.init(PROMPT);
    for (let i = 0; i < tokens.length; i++) {
      const sequence = model.createSequence();
      const context = [...PROMPT, ...tokens.slice(0, i)];
      const { logits } = await sequence.forward({ tokens: Int32Array.from(context) });
      sequence.dispose();
      const row = Array.from(logits.slice((context.length - 1) * 3, context.length * 3));
      const max = Math.max(...row);
      const p = row.map(value => Math.exp(value - max));
      const allowed = constraint.allowedTokens(state);
      const weight = (t: number): number =>
        allowed.includes(t) ? p[t] * theta([...tokens.slice(0, i), t]) : 0;
      probability *= weight(tokens[i]) / [0, 1, 2].reduce((acc, t) => acc + weight(t), 0);
      state = constraint.advance(state, tokens[i]);
    }
    out.set(text, probability);
  }
  return out;
}

function kl(p: Map<string, number>, q: Map<string, number>): number {
  let sum = 0;
  for (const [key, value] of p) if (value > 0) sum += value * Math.log(value / (q.get(key) ?? 0));
  return sum;
}

describe('asap', () => {
  it('converges to the exact grammar-conditioned distribution while plain masking stays biased', async () => {
    const model = toyLanguageModel();
    const exact = await exactConditional(model);
    expect(exact.size).toBe(15);
    const sampler = asap({ constraint: regex(PATTERN, { tokenizer }) });
    const decoder = createDecoder({ model, tokenizer }).use(sampler);
    const gcd = await samplerDistribution(model, () => 1, exact.keys());
    const gcdKl = kl(exact, gcd);
    const checkpoints = [0, 25, 100, 400, 1000];
    const kls: number[] = [];
    const counts = new Map<string, number>();
    for (let n = 0; ; n++) {
      if (checkpoints.includes(n)) {
        const q = await samplerDistribution(
          model,
          prefix => sampler.expectedGrammaticality(PROMPT, prefix),
          exact.keys(),
        );
        kls.push(kl(exact, q));
      }
      if (n === checkpoints[checkpoints.length - 1]) break;
      const { text, reason } = await decoder.generate(
        { tokens: PROMPT },
        { temperature: 1, seed: n, maxTokens: 8 },
      );
      expect(reason).toBe('eos');
      expect(text).toMatch(new RegExp(`^${PATTERN}$`));
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    const samples = checkpoints[checkpoints.length - 1];
    const empirical = new Map([...counts].map(([text, count]) => [text, count / samples]));
    // The same number of plain masked (GCD) samples, for the empirical comparison.
    const masked = createDecoder({ model, tokenizer }).use(regex(PATTERN, { tokenizer }));
    const gcdCounts = new Map<string, number>();
    for (let n = 0; n < samples; n++) {
      const { text } = await masked.generate(
        { tokens: PROMPT },
        { temperature: 1, seed: n, maxTokens: 8 },
      );
      gcdCounts.set(text, (gcdCounts.get(text) ?? 0) + 1);
    }
    const gcdEmpirical = new Map([...gcdCounts].map(([text, count]) => [text, count / samples]));
    const asapEmpiricalKl = kl(empirical, exact);
    const gcdEmpiricalKl = kl(gcdEmpirical, exact);
    console.log(
      `KL(exact || GCD) = ${gcdKl.toFixed(4)}; KL(exact || ASAp_n) at n = ${checkpoints.join(', ')}: ${kls.map(v => v.toExponential(2)).join(', ')}; ` +
        `empirical over ${samples} samples: KL(ASAp || exact) = ${asapEmpiricalKl.toFixed(4)}, KL(GCD || exact) = ${gcdEmpiricalKl.toFixed(4)}`,
    );
    // Multinomial noise alone gives E[KL] ≈ (cells − 1) / (2N) = 14 / 2000 = 0.007; 0.05 leaves a 7× margin.
    expect(asapEmpiricalKl).toBeLessThan(0.05);
    expect(gcdEmpiricalKl).toBeGreaterThan(0.2);
    expect(kls[0]).toBeCloseTo(gcdKl, 10); // with no samples ASAp is plain masking
    expect(gcdKl).toBeGreaterThan(0.05); // masking is biased on this toy
    for (let i = 1; i < kls.length; i++) expect(kls[i]).toBeLessThanOrEqual(kls[i - 1] + 1e-9);
    // Once every prefix of this finite language has been explored, θ is exact and so is the sampler.
    expect(kls[kls.length - 1]).toBeLessThan(1e-6);
  });

  it('rejects a missing constraint', () => {
    expect(() => asap({ constraint: undefined as never })).toThrow(/masking logits processor/);
  });
});
