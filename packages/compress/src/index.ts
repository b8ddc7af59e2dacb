/**
 * @decodekit/compress: lossless compression of any bytes with any causal LM — arithmetic coding over
 * integer-quantized next-token distributions, with the Equal-Info Windows of Lester et al. (2024).
 */
export {
  compress,
  compressStream,
  decompress,
  decompressStream,
  readCompressedHeader,
} from './codec.js';
export type {
  CodecOptions,
  CodecProgress,
  CompressOptions,
  DecompressOptions,
  ModelIdentity,
} from './codec.js';
export type { CompressedHeader } from './container.js';
export { FORMAT_VERSION } from './container.js';
export { buildAlphabet, bytesToSymbols, symbolsToBytes } from './alphabet.js';
export type { Alphabet, SymbolizedBlock } from './alphabet.js';
export { quantizeLogits, quantizeScratch, GRID_STEPS_PER_BIT } from './quantize.js';
export type { QuantizeScratch } from './quantize.js';
export {
  ArithmeticDecoder,
  ArithmeticEncoder,
  BitReader,
  BitWriter,
  MAX_PRECISION,
  MIN_PRECISION,
} from './range-coder.js';
export type { EncoderState } from './range-coder.js';
export { crc32 } from './crc32.js';
export { equalInfoWindows, decodeEqualInfoWindow } from './equal-info-windows.js';
export type { EqualInfoWindowOptions, EqualInfoWindows } from './equal-info-windows.js';
export type { CodedWindow } from './codec.js';
