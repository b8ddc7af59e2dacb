import { argmax } from '../processors/index.js';
import { sampleFromProbabilities } from '../sampling/index.js';
import type { Verifier, VerifierStep } from '../strategy.js';

/**
 * Greedy match (P1): accept the child whose token is the target's argmax; otherwise emit the argmax as
 * the bonus token. Exact at temperature 0.
 */
export function greedyMatch(): Verifier {
  return {
    name: 'greedy-match',
    lossless: true,
    step({ probabilities, childTokens }) {
      const best = argmax(probabilities);
      const index = childTokens.indexOf(best);
      return index >= 0 ? index : { token: best };
    },
  };
}

/**
 * Recursive rejection sampling over a node's children. It covers three published verifiers:
 * - one child with draft distribution q: speculative sampling (Leviathan et al. 2023; Chen et al. 2023),
 * - several children drawn from q without replacement: recursive rejection (SpecInfer; RSD, Jeon et al. 2024),
 * - children without q (n-gram / copy drafts): each child is a one-hot draft, accepted with the residual
 *   probability of its token (deterministic-draft acceptance).
 * Child i is accepted with probability min(1, p_i(x_i) / q_i(x_i)); on rejection p_{i+1} = norm(max(0, p_i - q_i))
 * and q_{i+1} = q_i without x_i, renormalized. When every child is rejected the token is drawn from the
 * final residual. The emitted token is distributed exactly as p. At temperature 0 it is greedy match.
 */
export function rejectionSampling(): Verifier {
  const greedy = greedyMatch();
  return {
    name: 'rejection-sampling',
    lossless: true,
    step(args: VerifierStep) {
      if (args.greedy) return greedy.step(args);
      const { childTokens, random } = args;
      const p = Float32Array.from(args.probabilities);
      const q = args.q ? Float32Array.from(args.q) : undefined;
      for (let i = 0; i < childTokens.length; i++) {
        const x = childTokens[i];
        if (q) {
          const qx = q[x];
          if (!(qx > 0)) continue; // a draft the drafter gave no mass: skip it, the residual is unchanged
          if (random.next() < Math.min(1, p[x] / qx)) return i;
          residualInPlace(p, q);
          q[x] = 0;
          normalizeInPlace(q);
        } else {
          if (random.next() < p[x]) return i;
          p[x] = 0;
          normalizeInPlace(p);
        }
      }
      return { token: sampleFromProbabilities(p, random) };
    },
  };
}

/** p ← norm(max(0, p − q)). Falls back to p when the residual is empty (p = q up to rounding). */
function residualInPlace(p: Float32Array, q: Float32Array): void {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += Math.max(0, p[i] - q[i]);
  if (!(total > 0)) return;
  for (let i = 0; i < p.length; i++) p[i] = Math.max(0, p[i] - q[i]) / total;
}

function normalizeInPlace(values: Float32Array): void {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  if (!(total > 0)) return;
  for (let i = 0; i < values.length; i++) values[i] /= total;
}
