import { InvalidArgumentError, throwIfAborted } from '@decodekit/core';

/** PaddleOCR's default English recognition dictionary: digits, then lower-case letters (36 characters). */
export const PADDLE_EN_CHARACTERS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** PaddleOCR's end token, class 0 of a CPPD head (`CPPDLabelDecode.add_special_char`). */
export const CPPD_END_TOKEN = '</s>';

/**
 * The class list of a PaddleOCR CPPD head: `</s>` first, then the dictionary's characters, then `' '` when
 * `useSpaceChar` (as `BaseRecLabelDecode` reads `character_dict_path` and `use_space_char`). The default
 * English dictionary gives the 37 classes of the paper's English models.
 *
 * @param dictionary the characters, as a string (one per code point) or the dictionary file's lines
 */
export function cppdCharset(
  dictionary: string | readonly string[] = PADDLE_EN_CHARACTERS,
  { useSpaceChar = false }: { useSpaceChar?: boolean } = {},
): string[] {
  const characters = typeof dictionary === 'string' ? Array.from(dictionary) : [...dictionary];
  return [CPPD_END_TOKEN, ...characters, ...(useSpaceChar ? [' '] : [])];
}

/** One forward's scores: `[batch, positions, classes]` (or `[positions, classes]`), row-major. */
export interface NarOutput {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}

/**
 * A model that emits every output position in one forward (a scene-text recognizer's parallel decoder head,
 * an ONNX session, a remote endpoint): it maps an input (an image tensor, features) to {@link NarOutput}.
 */
export type NarModel<TInput> = (
  input: TInput,
  options?: { signal?: AbortSignal },
) => Promise<NarOutput>;

/** Options of {@link cppd} and {@link cppdDecode}. */
export interface CppdOptions {
  /**
   * Classes that end the text: the end token and any "none"/padding class a head emits after the last
   * character (default `[0]`, PaddleOCR's `</s>`). Decoding cuts at the first of them.
   */
  readonly endIds?: readonly number[];
  /**
   * How per-character confidences combine: `mean` of the kept positions' top probabilities (PaddleOCR's
   * `np.mean(conf_list)`, NaN for an empty text, as NumPy gives) or their `product` (the probability of the
   * whole string under independent positions; 1 for an empty text). Default `mean`.
   */
  readonly confidence?: 'mean' | 'product';
  /**
   * What the scores are: `probabilities` (default; CPPD's exported head ends with a softmax) or `logits`
   * (a softmax is applied per position).
   */
  readonly scores?: 'probabilities' | 'logits';
  /** Class id → text (e.g. {@link cppdCharset}); ids outside it are skipped, as PaddleOCR skips them. */
  readonly charset?: readonly string[];
}

/** The decoded text of one batch row. */
export interface CppdResult {
  /** Kept class ids, in position order (the end token excluded). */
  readonly ids: number[];
  /** The ids through `charset`, when one is given. */
  readonly text?: string;
  /** Combined confidence (see {@link CppdOptions.confidence}). */
  readonly confidence: number;
  /** Top probability at each kept position. */
  readonly probabilities: number[];
}

interface ResolvedOptions {
  readonly endIds: ReadonlySet<number>;
  readonly confidence: 'mean' | 'product';
  readonly logits: boolean;
  readonly charset?: readonly string[];
}

function resolveOptions(options: CppdOptions): ResolvedOptions {
  const endIds = options.endIds ?? [0];
  if (endIds.length === 0 || endIds.some(id => !Number.isInteger(id) || id < 0)) {
    throw new InvalidArgumentError({
      argument: 'endIds',
      message: `give at least one non-negative integer class id (PaddleOCR's </s> is 0), got [${endIds.join(', ')}].`,
    });
  }
  const confidence = options.confidence ?? 'mean';
  if (confidence !== 'mean' && confidence !== 'product') {
    throw new InvalidArgumentError({
      argument: 'confidence',
      message: `use "mean" or "product", got "${String(confidence)}".`,
    });
  }
  const scores = options.scores ?? 'probabilities';
  if (scores !== 'probabilities' && scores !== 'logits') {
    throw new InvalidArgumentError({
      argument: 'scores',
      message: `use "probabilities" or "logits", got "${String(scores)}".`,
    });
  }
  return {
    endIds: new Set(endIds),
    confidence,
    logits: scores === 'logits',
    charset: options.charset,
  };
}

function decodeRows(output: NarOutput, options: ResolvedOptions): CppdResult[] {
  const dims = output.dims;
  if (
    (dims.length !== 2 && dims.length !== 3) ||
    dims.some(size => !Number.isInteger(size) || size < 1)
  ) {
    throw new InvalidArgumentError({
      argument: 'output',
      message: `scores must be [batch, positions, classes] or [positions, classes], got [${dims.join(', ')}].`,
    });
  }
  const [batch, positions, classes] = dims.length === 3 ? dims : [1, dims[0], dims[1]];
  if (output.data.length !== batch * positions * classes) {
    throw new InvalidArgumentError({
      argument: 'output',
      message: `dims [${dims.join(', ')}] need ${batch * positions * classes} values, got ${output.data.length}.`,
    });
  }
  for (const id of options.endIds) {
    if (id >= classes) {
      throw new InvalidArgumentError({
        argument: 'endIds',
        message: `class ${id} does not exist: the scores have ${classes} classes.`,
      });
    }
  }
  const { data } = output;
  const results: CppdResult[] = [];
  for (let row = 0; row < batch; row++) {
    const ids: number[] = [];
    const probabilities: number[] = [];
    for (let position = 0; position < positions; position++) {
      const base = (row * positions + position) * classes;
      let best = 0;
      for (let c = 1; c < classes; c++) if (data[base + c] > data[base + best]) best = c;
      if (options.endIds.has(best)) break;
      if (options.charset && best >= options.charset.length) continue;
      let probability = data[base + best];
      if (options.logits) {
        let total = 0;
        for (let c = 0; c < classes; c++) total += Math.exp(data[base + c] - data[base + best]);
        probability = 1 / total;
      }
      ids.push(best);
      probabilities.push(probability);
    }
    const confidence =
      options.confidence === 'product'
        ? probabilities.reduce((product, p) => product * p, 1)
        : probabilities.length === 0
          ? Number.NaN
          : probabilities.reduce((sum, p) => sum + p, 0) / probabilities.length;
    results.push({
      ids,
      ...(options.charset ? { text: ids.map(id => options.charset?.[id] ?? '').join('') } : {}),
      confidence,
      probabilities,
    });
  }
  return results;
}

/**
 * Decodes the output of a parallel (non-autoregressive) decoder head, one result per batch row — the
 * post-processing of CPPD, "Context Perception Parallel Decoder for Scene Text Recognition" (Du et al.,
 * 2023; code: https://github.com/PaddlePaddle/PaddleOCR/blob/dygraph/doc/doc_en/algorithm_rec_cppd_en.md,
 * `ppocr/postprocess/rec_postprocess.py` `CPPDLabelDecode`): argmax per position, cut at the
 * first end class, skip ids outside the charset, confidence by mean (PaddleOCR) or product.
 *
 * @throws InvalidArgumentError on bad options or scores whose dims do not fit
 */
export function cppdDecode(output: NarOutput, options: CppdOptions = {}): CppdResult[] {
  return decodeRows(output, resolveOptions(options));
}

/** What {@link cppd} returns. */
export interface CppdDecoder {
  readonly name: 'cppd';
  /** Decodes scores already computed (see {@link cppdDecode}). */
  decode(output: NarOutput): CppdResult[];
  /** One forward of `model` on `input`, decoded: the whole text from a single call. */
  recognize<TInput>(
    model: NarModel<TInput>,
    input: TInput,
    options?: { signal?: AbortSignal },
  ): Promise<CppdResult[]>;
}

/**
 * A CPPD-style NAR output decoder with its options checked once (see {@link cppdDecode}). It serves
 * scene-text-recognition-style heads that emit all positions in one forward; it is not a decoding strategy
 * for causal language models (those emit one position per forward and use `createDecoder`).
 *
 * @example
 * const recognizer = cppd({ charset: cppdCharset() });
 * const [{ text, confidence }] = await recognizer.recognize(runSession, imageTensor);
 */
export function cppd(options: CppdOptions = {}): CppdDecoder {
  const resolved = resolveOptions(options);
  return {
    name: 'cppd',
    decode: output => decodeRows(output, resolved),
    async recognize(model, input, callOptions = {}) {
      throwIfAborted(callOptions.signal);
      const output = await model(input, { signal: callOptions.signal });
      throwIfAborted(callOptions.signal);
      return decodeRows(output, resolved);
    },
  };
}
