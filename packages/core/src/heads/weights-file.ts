/** The JSON file format shared by trained draft heads (Medusa, EAGLE, FSPAD, Chimera, ...). */
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import { seededRandom } from '../sampling/seeded-random.js';
import { decodeFloats, encodeFloats } from './linear-algebra.js';

/** What every trained drafter's weights record: the target it was trained on and its sizes. */
export interface TrainedHeadHeader {
  /** The target model the drafter was trained on (its `info.name`). */
  readonly model: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** Free-form record of how the weights were made (command, data recipe, losses, held-out accuracy). */
  readonly training?: Record<string, unknown>;
}

/** A tensor's shape, outermost first ([rows, cols] row-major, or [length]). */
export type TensorShape = readonly number[];

/** How a weights file is named in errors and how to make one. */
export interface WeightsFileKind {
  /** The `format` field, e.g. `decodekit-eagle/1`. */
  readonly format: string;
  /** The strategy id, as in `decodekit train <id>`. */
  readonly id: string;
}

const sizeOf = (shape: TensorShape) => shape.reduce((a, b) => a * b, 1);

/** Serializes a weights object as JSON: `format` first, float arrays as base64 of little-endian float32. */
export function serializeWeightsFile(
  kind: WeightsFileKind,
  fields: Record<string, unknown>,
): string {
  const encode = (value: unknown): unknown => {
    if (value instanceof Float32Array) return encodeFloats(value);
    if (Array.isArray(value)) return value.map(encode);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner)]));
  };
  return `${JSON.stringify({ format: kind.format, ...(encode(fields) as object) }, null, 1)}\n`;
}

/**
 * Parses a weights file (a JSON string or the parsed object) and checks its `format`; `source` names it in
 * errors. Returns the raw fields: decode tensors with `decodeTensor` and check shapes before use.
 */
export function readWeightsFile(
  kind: WeightsFileKind,
  json: string | Record<string, unknown>,
  source: string,
): Record<string, unknown> {
  let data: unknown;
  try {
    data = typeof json === 'string' ? JSON.parse(json) : json;
  } catch (error) {
    throw new ModelFormatError({
      path: source,
      message: `not JSON (${(error as Error).message}); write them with \`decodekit train ${kind.id}\`.`,
    });
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (format !== kind.format) {
    throw new ModelFormatError({
      path: source,
      message: `must have format "${kind.format}", got ${JSON.stringify(format)}; write them with \`decodekit train ${kind.id}\`.`,
    });
  }
  return data as Record<string, unknown>;
}

/** A base64 float32 field of a parsed weights file (missing or not a string: an empty array, caught by the shape check). */
export function decodeTensor(value: unknown): Float32Array {
  return decodeFloats(typeof value === 'string' ? value : '');
}

/** Throws InvalidArgumentError unless every size is a positive integer. */
export function checkPositiveSizes(sizes: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || (value as number) < 1)
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must be a positive integer, got ${value}.`,
      });
  }
}

/** Throws InvalidArgumentError unless each named tensor holds exactly the floats of its shape. */
export function checkTensorShapes(
  tensors: Readonly<Record<string, Float32Array | undefined>>,
  shapes: Readonly<Record<string, TensorShape>>,
): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const size = sizeOf(shape);
    if (tensors[name]?.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must hold ${shape.join('×')} = ${size} floats.`,
      });
    }
  }
}

/**
 * Random tensors for the given shapes (tests and untrained baselines): U(-scale, scale) from one seeded
 * stream in the order of `shapes`, except names `initial` maps to `zeros` or `ones`.
 */
export function randomTensors<TName extends string>(
  shapes: Readonly<Record<TName, TensorShape>>,
  {
    seed,
    scale,
    initial = () => 'uniform',
  }: { seed: number; scale: number; initial?: (name: TName) => 'uniform' | 'zeros' | 'ones' },
): Record<TName, Float32Array> {
  const random = seededRandom(seed);
  const tensors = {} as Record<TName, Float32Array>;
  for (const name of Object.keys(shapes) as TName[]) {
    const size = sizeOf(shapes[name]);
    const kind = initial(name);
    tensors[name] =
      kind === 'uniform'
        ? Float32Array.from({ length: size }, () => (random.next() * 2 - 1) * scale)
        : new Float32Array(size).fill(kind === 'ones' ? 1 : 0);
  }
  return tensors;
}

/** Throws InvalidArgumentError when a drafter factory got no weights, naming the parser that makes them. */
export function requireWeights<TWeights>(
  weights: TWeights | undefined,
  id: string,
  parser: string,
): asserts weights is TWeights {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `${id}() needs a trained drafter: ${parser}(file contents), of a file written by \`decodekit train ${id}\`.`,
    });
}

/** Options of the `random<Name>Weights` functions (tests and untrained baselines). */
export interface RandomWeightsOptions {
  vocabSize: number;
  hiddenSize: number;
  /** Inner width of the drafter's MLPs (each drafter has its default). */
  innerSize?: number;
  seed?: number;
  /** Weights are U(-scale, scale). */
  scale?: number;
}

/** Weights of a drafter whose tensors are a flat map by name, sized by hidden and inner width (FSPAD, Falcon). */
export interface TensorMapWeights<TName extends string> extends TrainedHeadHeader {
  readonly innerSize: number;
  readonly tensors: Readonly<Record<TName, Float32Array>>;
}

/** What `tensorMapWeightsFormat` returns: the weights-file functions of one drafter. */
export interface TensorMapWeightsFormat<TName extends string> {
  /** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
  serialize(weights: TensorMapWeights<TName>): string;
  /** Parses what `serialize` wrote (a JSON string or the parsed object); `source` names it in errors. */
  parse(json: string | Record<string, unknown>, source?: string): TensorMapWeights<TName>;
  /** Throws InvalidArgumentError when the shapes do not fit together. */
  check(weights: TensorMapWeights<TName>): void;
  /** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms. */
  random(options: RandomWeightsOptions): TensorMapWeights<TName>;
}

/**
 * The weights-file functions of a drafter whose tensors are a flat map by name: `names` in file order,
 * `shapes(hidden, inner)`, the default inner width of random weights, and which tensors random weights start
 * at one (norms) or zero (biases).
 */
export function tensorMapWeightsFormat<TName extends string>({
  kind,
  label,
  names,
  shapes,
  defaultInnerSize,
  initial,
}: {
  kind: WeightsFileKind;
  /** Name in errors (`FSPAD weights`). */
  label: string;
  names: readonly TName[];
  shapes: (hiddenSize: number, innerSize: number) => Record<TName, TensorShape>;
  defaultInnerSize: (hiddenSize: number) => number;
  initial: (name: TName) => 'uniform' | 'zeros' | 'ones';
}): TensorMapWeightsFormat<TName> {
  const check = (weights: TensorMapWeights<TName>) => {
    const { vocabSize, hiddenSize, innerSize } = weights;
    checkPositiveSizes({ vocabSize, hiddenSize, innerSize });
    checkTensorShapes(weights.tensors ?? {}, shapes(hiddenSize, innerSize));
  };
  return {
    check,
    serialize(weights) {
      check(weights);
      const { model, vocabSize, hiddenSize, innerSize, training } = weights;
      const tensors = Object.fromEntries(names.map(name => [name, weights.tensors[name]]));
      return serializeWeightsFile(kind, {
        model,
        vocabSize,
        hiddenSize,
        innerSize,
        training,
        tensors,
      });
    },
    parse(json, source = label) {
      const data = readWeightsFile(kind, json, source);
      const stored = (data.tensors ?? {}) as Record<string, unknown>;
      const weights: TensorMapWeights<TName> = {
        model: String(data.model),
        vocabSize: data.vocabSize as number,
        hiddenSize: data.hiddenSize as number,
        innerSize: data.innerSize as number,
        training: data.training as Record<string, unknown> | undefined,
        tensors: Object.fromEntries(
          names.map(name => [name, decodeTensor(stored[name])]),
        ) as Record<TName, Float32Array>,
      };
      check(weights);
      return weights;
    },
    random({
      vocabSize,
      hiddenSize,
      innerSize = defaultInnerSize(hiddenSize),
      seed = 0,
      scale = 0.3,
    }) {
      const tensors = randomTensors(shapes(hiddenSize, innerSize), { seed, scale, initial });
      return { model: 'random', vocabSize, hiddenSize, innerSize, tensors };
    },
  };
}
