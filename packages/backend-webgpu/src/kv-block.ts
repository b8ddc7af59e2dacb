/** A tensor as the device engine sees it: CPU (`data`) or device-resident (`location: 'gpu-buffer'`). */
export interface DeviceTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly location?: string;
  /** Frees the device buffer (device tensors only). */
  dispose?(): void;
}

/**
 * The KV cache tensors of one forward (or one gather), shared by reference between a sequence, its forks and
 * their last forwards. Device buffers are not garbage-collected in browsers, so every holder retains the block
 * and releases it when done; the last release disposes the tensors.
 */
export class KvBlock {
  private refs = 1;

  /**
   * @param tensors the cache tensors, in `GraphIO.pastNames` order
   * @param onFree called once when the last reference is released (owned blocks only)
   * @param owned false for shared constants (the empty cache), which are never disposed
   */
  constructor(
    readonly tensors: readonly DeviceTensor[],
    private readonly onFree?: (block: KvBlock) => void,
    readonly owned = true,
  ) {}

  /** References held now (0 once freed). */
  get references(): number {
    return this.refs;
  }

  /** Adds a reference; returns the block. */
  retain(): this {
    if (this.owned) {
      if (this.refs === 0) throw new Error('KvBlock.retain after the block was freed');
      this.refs++;
    }
    return this;
  }

  /** Drops a reference; the last one disposes the tensors. */
  release(): void {
    if (!this.owned || this.refs === 0) return;
    this.refs--;
    if (this.refs === 0) this.free();
  }

  /** Disposes the tensors now, whoever still holds the block (model disposal). */
  free(): void {
    if (!this.owned) return;
    this.refs = 0;
    for (const tensor of this.tensors) tensor.dispose?.();
    this.onFree?.(this);
  }
}
