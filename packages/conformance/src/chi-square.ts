/** Pearson's chi-square goodness-of-fit test with cells of small expectation merged. */
export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Tests observed counts against expected probabilities. Cells whose expected count is below
 * `minExpected` are pooled into one cell (the usual rule), so sparse joints stay valid.
 */
export function chiSquareTest(
  observed: readonly number[],
  probabilities: readonly number[],
  minExpected = 5,
): ChiSquareResult {
  const total = observed.reduce((sum, count) => sum + count, 0);
  let statistic = 0;
  let cells = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = probabilities[i] * total;
    if (expected < minExpected) {
      pooledObserved += observed[i];
      pooledExpected += expected;
      continue;
    }
    statistic += (observed[i] - expected) ** 2 / expected;
    cells += 1;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    cells += 1;
  } else if (pooledObserved > 0) {
    // Mass where the target has none: impossible under the null.
    return { statistic: Infinity, degreesOfFreedom: Math.max(1, cells - 1), pValue: 0 };
  }
  const degreesOfFreedom = Math.max(1, cells - 1);
  return {
    statistic,
    degreesOfFreedom,
    pValue: 1 - regularizedLowerGamma(degreesOfFreedom / 2, statistic / 2),
  };
}

/** Total variation distance between two distributions. */
export function totalVariation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / 2;
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = coefficients[0];
  for (let i = 1; i < 9; i++) sum += coefficients[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** P(a, x): the regularized lower incomplete gamma function (series or continued fraction). */
export function regularizedLowerGamma(a: number, x: number): number {
  if (x <= 0) return 0;
  if (!Number.isFinite(x)) return 1;
  const lnPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.exp(lnPrefix) * sum;
  }
  // Lentz's continued fraction for Q(a, x).
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return 1 - Math.exp(lnPrefix) * h;
}
