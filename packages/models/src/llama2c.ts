import { ModelFormatError } from '@decodekit/core';
import { type LlamaConfig, type LlamaWeights, headDimOf, weightSizes } from './llama-config.js';

/** A parsed llama2.c checkpoint. */
export interface Llama2cCheckpoint {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
}

/** One entry of a llama2.c tokenizer file. */
export interface Llama2cToken {
  /** The piece's raw bytes (a leading space is a real 0x20 byte). */
  readonly bytes: Uint8Array;
  /** BPE merge score; higher merges first. */
  readonly score: number;
}

/** A parsed llama2.c tokenizer (`tok512.bin`-style). */
export interface Llama2cTokenizer {
  readonly maxTokenLength: number;
  readonly tokens: readonly Llama2cToken[];
}

const HEADER_INTS = 7;
const HEADER_BYTES = HEADER_INTS * 4;
/** Magic of llama2.c's versioned export ("ak42"), which this reader does not handle. */
const VERSIONED_MAGIC = 0x616b3432;

/**
 * Parses a llama2.c legacy checkpoint (`run.c` format): 7 little-endian int32 (dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size — negative means an unshared classifier follows —, seq_len), then the fp32
 * tensors. The precomputed `freq_cis` tables are skipped (the graph builder recomputes RoPE).
 *
 * @param bytes the whole checkpoint file
 * @param path shown in error messages
 * @throws ModelFormatError when the header is invalid or the size does not match the header
 */
export function readLlama2cCheckpoint(
  bytes: Uint8Array,
  path = 'llama2.c checkpoint',
): Llama2cCheckpoint {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new ModelFormatError({
      path,
      message: `expected at least ${HEADER_BYTES} bytes (the llama2.c header) but the file has ${bytes.byteLength}. Is it truncated?`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === VERSIONED_MAGIC) {
    throw new ModelFormatError({
      path,
      message:
        'this is a versioned llama2.c export (magic "ak42"); only the legacy format is supported. ' +
        'Export it with llama2.c `export.py --version 0`.',
    });
  }
  const header = Array.from({ length: HEADER_INTS }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, rawVocab, contextLength] = header;
  const vocabSize = Math.abs(rawVocab);
  const positive = [
    dim,
    hiddenDim,
    numLayers,
    numHeads,
    numKvHeads,
    vocabSize,
    contextLength,
  ].every(value => value > 0 && value < 1 << 24);
  if (
    !positive ||
    dim % numHeads !== 0 ||
    numHeads % numKvHeads !== 0 ||
    (dim / numHeads) % 2 !== 0
  ) {
    throw new ModelFormatError({
      path,
      message:
        `invalid llama2.c header [dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len] = ` +
        `[${header.join(', ')}]: sizes must be positive, dim divisible by n_heads into an even head size, ` +
        'n_heads divisible by n_kv_heads. Is this a llama2.c legacy checkpoint?',
    });
  }
  const config: LlamaConfig = {
    vocabSize,
    dim,
    hiddenDim,
    numLayers,
    numHeads,
    numKvHeads,
    contextLength,
    tiedEmbeddings: rawVocab > 0,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  const sizes = weightSizes(config);
  const freqCis = contextLength * headDimOf(config); // real + imag, each [seq_len, head_size / 2]
  const classifier = config.tiedEmbeddings ? 0 : vocabSize * dim;
  const floats = sizes.reduce((sum, [, size]) => sum + size, 0) + freqCis + classifier;
  const expected = HEADER_BYTES + floats * 4;
  if (bytes.byteLength !== expected) {
    throw new ModelFormatError({
      path,
      message:
        `expected ${expected} bytes for a llama2.c checkpoint with header [${header.join(', ')}] ` +
        `but the file has ${bytes.byteLength} bytes (${bytes.byteLength < expected ? 'truncated' : 'trailing data'}). ` +
        'Download it again or check that it is a legacy llama2.c export.',
    });
  }
  // Copy into an aligned buffer once; all tensors are views into it.
  const data = new Float32Array(floats);
  new Uint8Array(data.buffer).set(bytes.subarray(HEADER_BYTES, HEADER_BYTES + floats * 4));
  if (!littleEndianHost()) swap32(data);
  const weights: Record<string, Float32Array> = {};
  let offset = 0;
  for (const [name, size] of sizes) {
    weights[name] = data.subarray(offset, offset + size);
    offset += size;
  }
  offset += freqCis;
  if (!config.tiedEmbeddings) weights.wcls = data.subarray(offset, offset + classifier);
  return { config, weights: weights as unknown as LlamaWeights };
}

/**
 * Parses a llama2.c tokenizer file: int32 max_token_length, then per token float32 score, int32 byte length
 * and the bytes, until the end of the file.
 *
 * @param bytes the whole tokenizer file
 * @param path shown in error messages
 * @param vocabSize when given, the file must hold exactly this many tokens
 * @throws ModelFormatError when the file is truncated or inconsistent
 */
export function readLlama2cTokenizer(
  bytes: Uint8Array,
  path = 'llama2.c tokenizer',
  vocabSize?: number,
): Llama2cTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) {
    throw new ModelFormatError({
      path,
      message: `expected at least 4 bytes but the file has ${bytes.byteLength}.`,
    });
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new ModelFormatError({
      path,
      message: `invalid max_token_length ${maxTokenLength}; is this a llama2.c tokenizer (tok512.bin-style)?`,
    });
  }
  const tokens: Llama2cToken[] = [];
  let offset = 4;
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength) {
      throw new ModelFormatError({
        path,
        message: `token ${tokens.length} is truncated: expected 8 header bytes at offset ${offset} but the file has ${bytes.byteLength} bytes.`,
      });
    }
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || length > maxTokenLength || offset + length > bytes.byteLength) {
      throw new ModelFormatError({
        path,
        message:
          `token ${tokens.length} has length ${length} (max_token_length ${maxTokenLength}) and needs ` +
          `${offset + Math.max(length, 0)} bytes but the file has ${bytes.byteLength}. The file is truncated or corrupt.`,
      });
    }
    tokens.push({ score, bytes: bytes.slice(offset, offset + length) });
    offset += length;
  }
  if (vocabSize !== undefined && tokens.length !== vocabSize) {
    throw new ModelFormatError({
      path,
      message: `expected ${vocabSize} tokens (the checkpoint's vocab_size) but the file has ${tokens.length}. Use the tokenizer the model was trained with.`,
    });
  }
  return { maxTokenLength, tokens };
}

function littleEndianHost(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}

function swap32(data: Float32Array): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < bytes.length; i += 4) {
    const a = bytes[i];
    const b = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

/**
 * Writes a llama2.c legacy checkpoint (the inverse of `readLlama2cCheckpoint`): the 7-int header, the fp32
 * tensors in llama2.c's order, the RoPE `freq_cis` tables `run.c` expects (real then imaginary,
 * `[seq_len, head_size / 2]`, θ = 10000), and the classifier when it is not tied. Lets a model trained or
 * edited here (fine-tuning, cost twins) go through the same converter as a downloaded checkpoint.
 *
 * @param checkpoint the architecture and weights
 */
export function writeLlama2cCheckpoint(checkpoint: Llama2cCheckpoint): Uint8Array {
  const { config, weights } = checkpoint;
  const sizes = weightSizes(config);
  for (const [name, size] of sizes) {
    if (weights[name]?.length !== size) {
      throw new ModelFormatError({
        path: 'llama2.c checkpoint',
        message: `weight ${name} has ${weights[name]?.length ?? 0} values but the config needs ${size}.`,
      });
    }
  }
  if (!config.tiedEmbeddings && weights.wcls?.length !== config.vocabSize * config.dim) {
    throw new ModelFormatError({
      path: 'llama2.c checkpoint',
      message: `an untied classifier (wcls) of ${config.vocabSize * config.dim} values is required.`,
    });
  }
  const headSize = headDimOf(config);
  const half = headSize / 2;
  const theta = config.ropeTheta ?? 10000;
  const freqReal = new Float32Array(config.contextLength * half);
  const freqImag = new Float32Array(config.contextLength * half);
  for (let position = 0; position < config.contextLength; position++) {
    for (let i = 0; i < half; i++) {
      const angle = position / theta ** ((2 * i) / headSize);
      freqReal[position * half + i] = Math.cos(angle);
      freqImag[position * half + i] = Math.sin(angle);
    }
  }
  const parts: Float32Array[] = [
    ...sizes.map(([name]) => weights[name] as Float32Array),
    freqReal,
    freqImag,
  ];
  if (!config.tiedEmbeddings && weights.wcls) parts.push(weights.wcls);
  const floats = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(HEADER_BYTES + floats * 4);
  const view = new DataView(bytes.buffer);
  const header = [
    config.dim,
    config.hiddenDim,
    config.numLayers,
    config.numHeads,
    config.numKvHeads,
    config.tiedEmbeddings ? config.vocabSize : -config.vocabSize,
    config.contextLength,
  ];
  header.forEach((value, i) => view.setInt32(i * 4, value, true));
  let offset = HEADER_BYTES;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) view.setFloat32(offset + i * 4, part[i], true);
    offset += part.length * 4;
  }
  return bytes;
}
