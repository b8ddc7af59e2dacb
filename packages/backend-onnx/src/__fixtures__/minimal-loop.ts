/**
 * The greedy loop one writes by hand against onnxruntime-node, as the reference the backend must match on
 * third-party exports: feed every input the graph declares, argmax the last row, feed the presents back.
 * It shares no code with the backend (its own float16 decoding included).
 */
import * as ort from 'onnxruntime-node';

/** float16 bits → number, written out independently of src/float16.ts. */
function halfToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const magnitude =
    exponent === 0
      ? (bits & 0x3ff) / 2 ** 24
      : exponent === 31
        ? Infinity
        : (1 + (bits & 0x3ff) / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -magnitude : magnitude;
}

/** One graph, or a split pair (`first` runs the prompt). */
export interface MinimalLoopGraphs {
  readonly graph: string;
  readonly first?: string;
}

/**
 * Greedy ids after `prompt`: the prompt in one forward (or one token at a time with `promptOneByOne`, for
 * graphs traced for one new token), then one token per forward until `steps` tokens or an EOS id.
 */
export async function minimalGreedy(
  { graph, first }: MinimalLoopGraphs,
  prompt: readonly number[],
  steps: number,
  { eos = [], promptOneByOne = false }: { eos?: readonly number[]; promptOneByOne?: boolean } = {},
): Promise<number[]> {
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const session = await ort.InferenceSession.create(graph, options);
  const firstSession = first === undefined ? undefined : await ort.InferenceSession.create(first, options);
  try {
    const pastNames = session.inputNames.filter(name => name.startsWith('past_key_values.'));
    const pastMeta = session.inputMetadata.find(meta => meta.name === pastNames[0]);
    if (!pastMeta?.isTensor) throw new Error('no past_key_values input');
    const [heads, headDim] = [Number(pastMeta.shape[1]), Number(pastMeta.shape[3])];
    const half = pastMeta.type === 'float16';
    let past: Record<string, ort.Tensor> = {};
    for (const name of pastNames)
      past[name] = new ort.Tensor(pastMeta.type as 'float32', half ? new Uint16Array(0) : new Float32Array(0), [1, heads, 0, headDim]);
    let length = 0;
    const step = async (ids: readonly number[]): Promise<number> => {
      const useFirst = length === 0 && firstSession !== undefined;
      const target = useFirst ? firstSession : session;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      };
      const inputs = target.inputNames;
      const total = length + ids.length;
      if (inputs.includes('attention_mask'))
        feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
      if (inputs.includes('position_ids'))
        feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from(ids, (_, index) => BigInt(length + index)), [1, ids.length]);
      for (const name of ['num_logits_to_keep', 'logits_to_keep'])
        if (inputs.includes(name)) feeds[name] = new ort.Tensor('int64', BigInt64Array.of(1n), []);
      if (inputs.includes('use_cache_branch'))
        feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(length > 0 ? 1 : 0), [1]);
      if (!useFirst) Object.assign(feeds, past);
      const outputs = await target.run(feeds);
      const logits = outputs.logits;
      const vocab = Number(logits.dims[2]);
      const rows = Number(logits.dims[1]);
      const offset = (rows - 1) * vocab;
      const value = (index: number) =>
        logits.type === 'float16'
          ? halfToNumber((logits.data as Uint16Array)[offset + index])
          : (logits.data as Float32Array)[offset + index];
      let best = 0;
      for (let token = 1; token < vocab; token++) if (value(token) > value(best)) best = token;
      past = {};
      for (const name of pastNames) past[name] = outputs[name.replace('past_key_values.', 'present.')];
      length = total;
      return best;
    };
    let next = -1;
    if (promptOneByOne) for (const id of prompt) next = await step([id]);
    else next = await step(prompt);
    const generated: number[] = [];
    while (generated.length < steps) {
      generated.push(next);
      if (eos.includes(next) || generated.length === steps) break;
      next = await step([next]);
    }
    return generated;
  } finally {
    await session.release();
    await firstSession?.release();
  }
}
