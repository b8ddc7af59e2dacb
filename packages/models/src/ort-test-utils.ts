/**
 * Test-only helpers: a minimal onnxruntime-node driver for graphs built by this package. Not exported.
 */
import { readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

/** Root of the reference models (the offline mirror). */
export const MODELS_ROOT = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ??
    fileURLToPath(new URL('../../../../shared/models', import.meta.url)),
);

export function modelBytes(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(join(MODELS_ROOT, ...parts)));
}

/** llama2.c's greedy reference outputs, keyed by prompt name ("Once upon a time", "<BOS only>"). */
export type GreedyGolden = Record<
  string,
  { prompt_ids: number[]; generated_ids: number[]; printed_text: string }
>;

/** A golden file from the mirror, parsed as `T` (the caller names the file's shape). */
export function golden<T>(name: string): T {
  return JSON.parse(readFileSync(join(MODELS_ROOT, 'golden', name), 'utf8')) as T;
}

export interface GraphShape {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

export interface StepInput {
  readonly ids: readonly number[];
  readonly positions?: readonly number[];
  /** [n, past + n] additive bias, row-major (extended graphs). */
  readonly bias?: Float32Array;
  readonly skip?: readonly boolean[];
}

export interface StepOutput {
  readonly logits: Float32Array;
  readonly hidden?: ort.Tensor;
  readonly present: ort.Tensor[];
  readonly outputs: ort.InferenceSession.OnnxValueMapType;
}

const i64 = (values: readonly number[]) => BigInt64Array.from(values.map(value => BigInt(value)));

/** A causal bias [n, past + n] for a chain. */
export function causalBias(past: number, n: number): Float32Array {
  const bias = new Float32Array(n * (past + n));
  for (let r = 0; r < n; r++)
    for (let c = past + r + 1; c < past + n; c++) bias[r * (past + n) + c] = -1e9;
  return bias;
}

export class GraphRunner {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly shape: GraphShape,
    readonly extended: boolean,
  ) {}

  /** A runner on graph bytes, or on a file path (needed when the graph has external data). */
  static async create(onnx: Uint8Array | string, shape: GraphShape): Promise<GraphRunner> {
    const options = { intraOpNumThreads: 1 };
    const session =
      typeof onnx === 'string'
        ? await ort.InferenceSession.create(onnx, options)
        : await ort.InferenceSession.create(onnx, options);
    return new GraphRunner(session, shape, session.inputNames.includes('attention_bias'));
  }

  emptyPast(): ort.Tensor[] {
    const { numLayers, numKvHeads, headDim } = this.shape;
    return Array.from(
      { length: numLayers * 2 },
      () => new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]),
    );
  }

  async step(past: ort.Tensor[], input: StepInput): Promise<StepOutput> {
    const n = input.ids.length;
    const pastLength = past[0].dims[2];
    const total = pastLength + n;
    const positions = input.positions ?? Array.from({ length: n }, (_, i) => pastLength + i);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', i64(input.ids), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor('int64', i64(positions), [1, n]),
    };
    for (let i = 0; i < this.shape.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = past[2 * i];
      feeds[`past_key_values.${i}.value`] = past[2 * i + 1];
    }
    if (this.extended) {
      feeds.attention_bias = new ort.Tensor('float32', input.bias ?? causalBias(pastLength, n), [
        1,
        1,
        n,
        total,
      ]);
      const skip = input.skip ?? Array.from({ length: this.shape.numLayers }, () => false);
      feeds.skip_layers = new ort.Tensor('bool', Uint8Array.from(skip.map(Number)), [
        this.shape.numLayers,
      ]);
    }
    const outputs = await this.session.run(feeds);
    const present: ort.Tensor[] = [];
    for (let i = 0; i < this.shape.numLayers; i++)
      present.push(outputs[`present.${i}.key`], outputs[`present.${i}.value`]);
    return {
      logits: outputs.logits.data as Float32Array,
      hidden: outputs.hidden_states,
      present,
      outputs,
    };
  }

  /** Greedy decoding with the KV cache: prefill `prompt`, then `steps` single-token forwards. */
  async greedy(prompt: readonly number[], steps: number): Promise<number[]> {
    const { vocabSize } = this.shape;
    let out = await this.step(this.emptyPast(), { ids: prompt });
    const generated: number[] = [];
    let row = prompt.length - 1;
    for (let s = 0; s < steps; s++) {
      const next = argmax(out.logits.subarray(row * vocabSize, (row + 1) * vocabSize));
      generated.push(next);
      if (s === steps - 1) break;
      out = await this.step(out.present, { ids: [next] });
      row = 0;
    }
    return generated;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
