/** Turns a text into one dense vector. */
export interface Embedder {
  readonly name: string;
  /** Vector width. */
  readonly dimensions: number;
  /** The L2-normalised embedding of `text`. */
  embed(text: string, options?: { signal?: AbortSignal }): Promise<Float32Array>;
}
