import {
  checkPositiveSizes,
  checkTensorShapes,
  decodeTensor,
  InvalidArgumentError,
  randomTensors,
  readWeightsFile,
  serializeWeightsFile,
  type RandomWeightsOptions,
  type TrainedHeadHeader,
} from '@decodekit/core';

/**
 * The Chimera drafter's tensors (row-major [out, in]; H = hidden, I = inner, V = vocab):
 * - trigram MLP: `tri.res.weight` [3H, 3H], `tri.res.bias` [3H] (ResBlock x + SiLU(W x + b)), then
 *   `tri.out` [H, 3H] (no bias) maps [e_{t-1}; e_t; e_{t+1}] to the trigram feature g;
 * - the fusing decoder layer (Llama: RMSNorm, multi-head attention with RoPE, RMSNorm, SwiGLU MLP):
 *   `attn.norm` [H], `attn.q`, `attn.k`, `attn.v`, `attn.o` [H, H]; `mlp.norm` [H], `mlp.gate`, `mlp.up`
 *   [I, H], `mlp.down` [H, I]. Its query is g; its keys are the target's last hidden states and g itself;
 *   its output predicts the target's hidden state after x_{t+1};
 * - `head.k` [V, 2H] for k < `heads` (no bias): head k maps [h_t; f̂] to the logits of the token drafted
 *   at depth k + 1, initialised as [W_lm, W_lm].
 */
export interface ChimeraWeights extends TrainedHeadHeader {
  readonly innerSize: number;
  /** Attention heads of the fusing layer (hidden size divisible by it, even head size for RoPE). */
  readonly attentionHeads: number;
  /** Draft heads (depth d uses head min(d, heads) − 1). */
  readonly heads: number;
  /** Most recent target hidden states the fusing layer attends to. */
  readonly window: number;
  readonly tensors: Readonly<Record<string, Float32Array>>;
}

const KIND = { format: 'decodekit-chimera/1', id: 'chimera' };

/** Shapes of every tensor, by name (the order of the weights file). */
export function chimeraShapes({
  vocabSize,
  hiddenSize: H,
  innerSize: I,
  heads,
}: Pick<ChimeraWeights, 'vocabSize' | 'hiddenSize' | 'innerSize' | 'heads'>): Record<
  string,
  [number] | [number, number]
> {
  const shapes: Record<string, [number] | [number, number]> = {
    'tri.res.weight': [3 * H, 3 * H],
    'tri.res.bias': [3 * H],
    'tri.out': [H, 3 * H],
    'attn.norm': [H],
    'attn.q': [H, H],
    'attn.k': [H, H],
    'attn.v': [H, H],
    'attn.o': [H, H],
    'mlp.norm': [H],
    'mlp.gate': [I, H],
    'mlp.up': [I, H],
    'mlp.down': [H, I],
  };
  for (let k = 0; k < heads; k++) shapes[`head.${k}`] = [vocabSize, 2 * H];
  return shapes;
}

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeChimeraWeights(weights: ChimeraWeights): string {
  checkChimeraWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, attentionHeads, heads, window, training } =
    weights;
  const tensors = Object.fromEntries(
    Object.keys(chimeraShapes(weights)).map(name => [name, weights.tensors[name]]),
  );
  return serializeWeightsFile(KIND, {
    model,
    vocabSize,
    hiddenSize,
    innerSize,
    attentionHeads,
    heads,
    window,
    training,
    tensors,
  });
}

/** Parses what `serializeChimeraWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseChimeraWeights(
  json: string | Record<string, unknown>,
  source = 'Chimera weights',
): ChimeraWeights {
  const data = readWeightsFile(KIND, json, source);
  const stored = (data.tensors ?? {}) as Record<string, unknown>;
  const sizes = {
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    innerSize: data.innerSize as number,
    attentionHeads: data.attentionHeads as number,
    heads: data.heads as number,
    window: data.window as number,
  };
  checkPositiveSizes(sizes);
  const weights: ChimeraWeights = {
    model: String(data.model),
    ...sizes,
    training: data.training as Record<string, unknown> | undefined,
    tensors: Object.fromEntries(
      Object.keys(chimeraShapes(sizes)).map(name => [name, decodeTensor(stored[name])]),
    ),
  };
  checkChimeraWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the sizes or shapes do not fit together. */
export function checkChimeraWeights(weights: ChimeraWeights): void {
  const { vocabSize, hiddenSize, innerSize, attentionHeads, heads, window } = weights;
  checkPositiveSizes({ vocabSize, hiddenSize, innerSize, attentionHeads, heads, window });
  if (hiddenSize % attentionHeads !== 0 || (hiddenSize / attentionHeads) % 2 !== 0) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `attentionHeads ${attentionHeads} must divide hidden ${hiddenSize} into heads of even size (RoPE rotates pairs).`,
    });
  }
  checkTensorShapes(weights.tensors ?? {}, chimeraShapes(weights));
}

/**
 * Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms;
 * the heads start as [W_lm, W_lm] when `lmHead` is given, as Chimera initialises them.
 */
export function randomChimeraWeights({
  vocabSize,
  hiddenSize,
  innerSize = 2 * hiddenSize,
  attentionHeads = 2,
  heads = 3,
  window = 8,
  seed = 0,
  scale = 0.3,
  lmHead,
}: RandomWeightsOptions & {
  attentionHeads?: number;
  heads?: number;
  window?: number;
  lmHead?: Float32Array;
}): ChimeraWeights {
  const sizes = { vocabSize, hiddenSize, innerSize, attentionHeads, heads, window };
  const tensors = randomTensors(chimeraShapes(sizes), {
    seed,
    scale,
    initial: name => (name.endsWith('norm') ? 'ones' : name.endsWith('bias') ? 'zeros' : 'uniform'),
  });
  if (lmHead) for (let k = 0; k < heads; k++) tensors[`head.${k}`] = headFromLmHead(lmHead, sizes);
  return { model: 'random', ...sizes, tensors };
}

/** Chimera's head initialisation: [W_lm, W_lm] [vocab, 2·hidden] from the LM head [vocab, hidden]. */
export function headFromLmHead(
  lmHead: Float32Array,
  { vocabSize, hiddenSize }: { vocabSize: number; hiddenSize: number },
): Float32Array {
  const head = new Float32Array(vocabSize * 2 * hiddenSize);
  for (let v = 0; v < vocabSize; v++) {
    const row = lmHead.subarray(v * hiddenSize, (v + 1) * hiddenSize);
    head.set(row, v * 2 * hiddenSize);
    head.set(row, v * 2 * hiddenSize + hiddenSize);
  }
  return head;
}
