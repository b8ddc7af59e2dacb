import {
  type HyperAttentionSettings,
  type HyperAttentionTables,
  hyperAttentionDepth,
} from './hyper-attention.js';

/**
 * A plain-loop reference of the causal HyperAttention the graph builder writes (hyper-attention.ts), in
 * float64 over float32 inputs: the oracle the graph is tested against, written independently of the graph
 * (row loops instead of reshapes, a comparison sort instead of TopK).
 */

/** `heads` parts of `rows` rows of width `width`, row-major [heads, rows, width]. */
interface Parts {
  readonly heads: number;
  readonly rows: number;
  readonly data: Float64Array;
}

interface Attended {
  /** [heads, rows, d] */
  readonly out: Float64Array;
  /** [heads, rows] */
  readonly lse: Float64Array;
}

const row = (p: Parts, d: number, h: number, i: number) =>
  p.data.subarray((h * p.rows + i) * d, (h * p.rows + i + 1) * d);

const dot = (a: Float64Array, b: Float64Array) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
};

/** Softmax attention of one query over the listed keys; `[out, lse]`. */
function attendTo(
  query: Float64Array,
  keys: readonly Float64Array[],
  values: readonly Float64Array[],
  logOffset = 0,
): [Float64Array, number] {
  const out = new Float64Array(query.length);
  const scores = keys.map(key => dot(query, key));
  const top = Math.max(...scores);
  let total = 0;
  scores.forEach((score, j) => {
    const weight = Math.exp(score - top);
    total += weight;
    const value = values[j];
    for (let c = 0; c < out.length; c++) out[c] += weight * value[c];
  });
  for (let c = 0; c < out.length; c++) out[c] /= total;
  return [out, top + Math.log(total) + logOffset];
}

function mergeInto(
  out: Float64Array,
  lse: number,
  other: Float64Array,
  otherLse: number,
): [Float64Array, number] {
  const top = Math.max(lse, otherLse);
  const w1 = Math.exp(lse - top);
  const w2 = Math.exp(otherLse - top);
  const merged = out.map((value, c) => (value * w1 + other[c] * w2) / (w1 + w2));
  return [merged, top + Math.log(w1 + w2)];
}

function exactParts(q: Parts, k: Parts, v: Parts, d: number, causal: boolean): Attended {
  const out = new Float64Array(q.heads * q.rows * d);
  const lse = new Float64Array(q.heads * q.rows);
  for (let h = 0; h < q.heads; h++) {
    for (let i = 0; i < q.rows; i++) {
      const visible = causal ? i + 1 : k.rows;
      const keys = Array.from({ length: visible }, (_, j) => row(k, d, h, j));
      const values = Array.from({ length: visible }, (_, j) => row(v, d, h, j));
      const [o, l] = attendTo(row(q, d, h, i), keys, values);
      out.set(o, (h * q.rows + i) * d);
      lse[h * q.rows + i] = l;
    }
  }
  return { out, lse };
}

function padParts(p: Parts, d: number, pad: number): Parts {
  if (pad === 0) return p;
  const rows = p.rows + pad;
  const data = new Float64Array(p.heads * rows * d);
  for (let h = 0; h < p.heads; h++)
    data.set(p.data.subarray(h * p.rows * d, (h + 1) * p.rows * d), h * rows * d);
  return { heads: p.heads, rows, data };
}

function sliceParts(p: Parts, d: number, start: number, end: number): Parts {
  const rows = end - start;
  const data = new Float64Array(p.heads * rows * d);
  for (let h = 0; h < p.heads; h++)
    data.set(p.data.subarray((h * p.rows + start) * d, (h * p.rows + end) * d), h * rows * d);
  return { heads: p.heads, rows, data };
}

function bucketOf(x: Float64Array, tables: HyperAttentionTables, r: number): number {
  let code = 0;
  for (let b = 0; b < r; b++) {
    let projection = 0;
    for (let c = 0; c < x.length; c++) projection += x[c] * tables.projections[c * r + b];
    if (projection > 0) code += 2 ** b;
  }
  return tables.bucketOrder[code];
}

function sortedOrder(p: Parts, d: number, h: number, tables: HyperAttentionTables, r: number) {
  const buckets = Array.from({ length: p.rows }, (_, i) => bucketOf(row(p, d, h, i), tables, r));
  return Array.from({ length: p.rows }, (_, i) => i).sort(
    (a, b) => buckets[a] - buckets[b] || a - b,
  );
}

function nonCausal(
  q: Parts,
  k: Parts,
  v: Parts,
  d: number,
  settings: HyperAttentionSettings,
  tables: HyperAttentionTables,
): Attended {
  const n = q.rows;
  if (n < settings.minSeqLen) return exactParts(q, k, v, d, false);
  const { blockSize: b, sampleSize: s, lshProjections: r } = settings;
  const out = new Float64Array(q.heads * n * d);
  const lse = new Float64Array(q.heads * n);
  for (let h = 0; h < q.heads; h++) {
    const queryOrder = sortedOrder(q, d, h, tables, r);
    const keyOrder = sortedOrder(k, d, h, tables, r);
    const sampled = Array.from({ length: s }, (_, t) =>
      Math.min(Math.floor(Math.fround(tables.samples[h * s + t] * n)), n - 1),
    );
    queryOrder.forEach((query, position) => {
      const block = Math.floor(position / b);
      const members = keyOrder.slice(block * b, Math.min((block + 1) * b, n));
      let [o, l] = attendTo(
        row(q, d, h, query),
        members.map(j => row(k, d, h, j)),
        members.map(j => row(v, d, h, j)),
      );
      const residual = sampled.filter(j => Math.floor(j / b) !== block).map(j => keyOrder[j]);
      if (residual.length > 0) {
        const [ro, rl] = attendTo(
          row(q, d, h, query),
          residual.map(j => row(k, d, h, j)),
          residual.map(j => row(v, d, h, j)),
          Math.log(n / s),
        );
        [o, l] = mergeInto(o, l, ro, rl);
      }
      out.set(o, (h * n + query) * d);
      lse[h * n + query] = l;
    });
  }
  return { out, lse };
}

function causal(
  q: Parts,
  k: Parts,
  v: Parts,
  d: number,
  settings: HyperAttentionSettings,
  tables: HyperAttentionTables,
  depth: number,
): Attended {
  const n = q.rows;
  if (depth === 0 || n <= settings.minSeqLen) return exactParts(q, k, v, d, true);
  const pad = n % 2;
  const padded = n + pad;
  const half = padded / 2;
  const [qp, kp, vp] = [q, k, v].map(p => padParts(p, d, pad));
  // [heads, padded, d] is [2·heads, half, d] in memory: each head's halves become two parts.
  const asHalves = (p: Parts): Parts => ({ heads: 2 * p.heads, rows: half, data: p.data });
  const inner = causal(asHalves(qp), asHalves(kp), asHalves(vp), d, settings, tables, depth - 1);
  const lower = nonCausal(
    sliceParts(qp, d, half, padded),
    sliceParts(kp, d, 0, half),
    sliceParts(vp, d, 0, half),
    d,
    settings,
    tables,
  );
  const out = new Float64Array(q.heads * n * d);
  const lse = new Float64Array(q.heads * n);
  for (let h = 0; h < q.heads; h++) {
    for (let i = 0; i < n; i++) {
      let o = inner.out.subarray((h * padded + i) * d, (h * padded + i + 1) * d);
      let l = inner.lse[h * padded + i];
      if (i >= half) {
        const j = h * half + (i - half);
        [o, l] = mergeInto(o, l, lower.out.subarray(j * d, (j + 1) * d), lower.lse[j]);
      }
      out.set(o, (h * n + i) * d);
      lse[h * n + i] = l;
    }
  }
  return { out, lse };
}

/**
 * Causal HyperAttention of `q`, `k`, `v` laid out [heads, rows, d] (queries already scaled), with the
 * builder's settings and tables for a model of `contextLength`: the attention's output [heads, rows, d].
 */
export function hyperAttentionReference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: { readonly heads: number; readonly rows: number; readonly headDim: number },
  settings: HyperAttentionSettings,
  tables: HyperAttentionTables,
  contextLength: number,
): Float64Array {
  const parts = (data: Float32Array): Parts => ({
    heads: shape.heads,
    rows: shape.rows,
    data: Float64Array.from(data),
  });
  const depth = hyperAttentionDepth(contextLength, settings.minSeqLen);
  return causal(parts(q), parts(k), parts(v), shape.headDim, settings, tables, depth).out;
}
