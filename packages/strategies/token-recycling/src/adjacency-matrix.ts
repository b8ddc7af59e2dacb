/**
 * Token Recycling's candidate store: for every token of the vocabulary, the `k` tokens the target ranked
 * highest the last time that token was fed to it. [vocab, k] Int32, plus one "filled" byte per token so
 * never-seen tokens propose nothing (the official code starts from zeros and drafts token 0 instead).
 */
export class AdjacencyMatrix {
  readonly vocabSize: number;
  readonly k: number;
  /** Candidates, best first. [vocab, k] */
  readonly candidates: Int32Array;
  /** 1 when the token's row has been written. [vocab] */
  readonly filled: Uint8Array;
  // Scratch for top-k selection (no allocation per row).
  private readonly topValues: Float32Array;
  private readonly topIds: Int32Array;

  constructor(vocabSize: number, k: number) {
    this.vocabSize = vocabSize;
    this.k = k;
    this.candidates = new Int32Array(vocabSize * k);
    this.filled = new Uint8Array(vocabSize);
    this.topValues = new Float32Array(k);
    this.topIds = new Int32Array(k);
  }

  /** Bytes held by the matrix and its fill flags. */
  get byteLength(): number {
    return this.candidates.byteLength + this.filled.byteLength;
  }

  /** Forgets every row. */
  clear(): void {
    this.filled.fill(0);
    this.candidates.fill(0);
  }

  /** Candidate `rank` of `token`, or -1 when the row was never written. */
  get(token: number, rank: number): number {
    return this.filled[token] ? this.candidates[token * this.k + rank] : -1;
  }

  /**
   * Overwrites `token`'s row with the top-k ids of `logits[offset .. offset + vocab)`, best first; ties
   * go to the lower id (as `argmax`). One pass with a sorted k-slot buffer: O(vocab) plus O(k) per
   * improvement.
   */
  record(token: number, logits: Float32Array, offset: number): void {
    const { k, vocabSize, topValues, topIds } = this;
    // A view of the row keeps the hot loop's indexing simple (measured ~2x faster than offset + id).
    const row = logits.subarray(offset, offset + vocabSize);
    // Seed the buffer with the first k entries, insertion-sorted (stable: lower id first among ties).
    for (let i = 0; i < k; i++) {
      const value = row[i];
      let slot = i;
      while (slot > 0 && !(topValues[slot - 1] >= value)) {
        topValues[slot] = topValues[slot - 1];
        topIds[slot] = topIds[slot - 1];
        slot--;
      }
      topValues[slot] = value;
      topIds[slot] = i;
    }
    let threshold = topValues[k - 1];
    for (let id = k; id < vocabSize; id++) {
      const value = row[id];
      // Strictly greater: an equal later id never displaces an earlier one; NaN never enters.
      if (value > threshold) {
        let slot = k - 1;
        while (slot > 0 && topValues[slot - 1] < value) {
          topValues[slot] = topValues[slot - 1];
          topIds[slot] = topIds[slot - 1];
          slot--;
        }
        topValues[slot] = value;
        topIds[slot] = id;
        threshold = topValues[k - 1];
      }
    }
    this.candidates.set(topIds, token * k);
    this.filled[token] = 1;
  }
}
