import type { LogitsProcessor, Tokenizer } from '@decodekit/core';

/** One alternative token with its log-probability. */
export interface TokenAlternative {
  tokenId: number;
  /** The token's text (its bytes read as UTF-8; a partial character shows as U+FFFD). */
  token: string;
  bytes: number[];
  logprob: number;
}

/** Log-probability of a generated token under the model, plus the most likely alternatives there. */
export interface TokenLogprob extends TokenAlternative {
  top: TokenAlternative[];
}

/** Identifies a path of tokens: its length and two 32-bit rolling hashes. */
interface PathKey {
  readonly length: number;
  readonly h1: number;
  readonly h2: number;
}

const keyOf = (path: PathKey): string => `${path.length}:${path.h1}:${path.h2}`;

function extend(path: PathKey, token: number): PathKey {
  return {
    length: path.length + 1,
    h1: Math.imul(path.h1 ^ token, 16777619) >>> 0,
    h2: (Math.imul(path.h2, 31) + token + 1) >>> 0,
  };
}

/** A logits processor that records the model's distribution at every node, and reads it back per token. */
export interface LogprobRecorder {
  /** Put it first in the chain: it sees the model's raw logits (vLLM's default `raw_logprobs`). */
  readonly processor: LogitsProcessor<PathKey>;
  /** The log-probability of the next generated token (call once per token, in order). */
  take(tokenId: number): TokenLogprob | undefined;
}

/**
 * Records log-probabilities for OpenAI's `logprobs`. The decode loop applies processors at every node it
 * verifies (speculative trees included), so rows are keyed by the token path that leads to them; `take`
 * walks the committed path and drops rows behind it, so memory stays at one step's worth of rows.
 */
export function logprobRecorder(tokenizer: Tokenizer, topLogprobs: number): LogprobRecorder {
  const rows = new Map<string, Float32Array>();
  let committed: PathKey | undefined;
  const decoder = new TextDecoder();
  const alternative = (tokenId: number, logprob: number): TokenAlternative => {
    const bytes = tokenizer.tokenBytes(tokenId);
    const token = bytes
      ? decoder.decode(bytes)
      : tokenizer.decode([tokenId], { skipSpecialTokens: false });
    return {
      tokenId,
      token,
      bytes: bytes ? [...bytes] : [...new TextEncoder().encode(token)],
      logprob,
    };
  };
  return {
    processor: {
      name: 'logprob-recorder',
      init(prefix) {
        let path: PathKey = { length: 0, h1: 2166136261, h2: 7 };
        for (const token of prefix) path = extend(path, token);
        committed ??= path;
        return path;
      },
      advance: extend,
      process(logits, path) {
        const key = keyOf(path);
        if (rows.has(key)) return;
        let max = -Infinity;
        for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
        let sum = 0;
        for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
        const logZ = max + Math.log(sum);
        const row = new Float32Array(logits.length);
        for (let i = 0; i < logits.length; i++) row[i] = logits[i] - logZ;
        rows.set(key, row);
      },
    },
    take(tokenId) {
      if (!committed) return undefined;
      const row = rows.get(keyOf(committed));
      committed = extend(committed, tokenId);
      for (const key of rows.keys())
        if (Number(key.slice(0, key.indexOf(':'))) < committed.length) rows.delete(key);
      if (!row) return undefined;
      const top: TokenAlternative[] = [];
      if (topLogprobs > 0) {
        for (const id of topIds(row, topLogprobs)) top.push(alternative(id, row[id]));
      }
      return { ...alternative(tokenId, tokenId < row.length ? row[tokenId] : -Infinity), top };
    },
  };
}

/** Ids of the k largest values, largest first (one pass with a small sorted buffer: O(vocab · k)). */
function topIds(row: Float32Array, k: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (ids.length === k && row[i] <= row[ids[k - 1]]) continue;
    let at = ids.length < k ? ids.length : k - 1;
    if (ids.length < k) ids.push(i);
    while (at > 0 && row[ids[at - 1]] < row[i]) {
      ids[at] = ids[at - 1];
      at--;
    }
    ids[at] = i;
  }
  return ids;
}
