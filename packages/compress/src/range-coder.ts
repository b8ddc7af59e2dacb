/**
 * A 32-bit integer arithmetic coder in the style of Witten, Neal and Cleary ("Arithmetic coding for data
 * compression", CACM 1987): `low`/`high` registers of 32 bits, E1/E2 shifts and E3 underflow ("pending")
 * bits, frequency tables whose total is a power of two `2^precision`. All arithmetic is exact integer math on
 * JavaScript numbers (every intermediate stays below 2^53), so encoder and decoder agree on every engine.
 */
import { CompressedDataError, InvariantError } from '@decodekit/core';

const TOP = 0xffffffff;
const HALF = 0x80000000;
const QUARTER = 0x40000000;
const THREE_QUARTERS = 0xc0000000;

/** Smallest and largest supported `precision` (log2 of a frequency table's total). */
export const MIN_PRECISION = 8;
export const MAX_PRECISION = 24;

/**
 * `floor(range * cumulative / 2^precision)` exactly, for range ≤ 2^32 and cumulative ≤ 2^precision ≤ 2^24.
 * Below 2^53 the product is exact in a double; above, the product is split into 16-bit halves.
 */
export function scaleRange(range: number, cumulative: number, precision: number): number {
  if (precision <= 21) return Math.floor((range * cumulative) / 2 ** precision);
  const high = Math.floor(range / 65536) * cumulative; // ≤ 2^40
  const low = (range % 65536) * cumulative; // < 2^40
  const divisor = 2 ** (precision - 16);
  const quotient = Math.floor(high / divisor);
  const remainder = high - quotient * divisor; // < 2^(precision - 16)
  return quotient + Math.floor((remainder * 65536 + low) / 2 ** precision);
}

/** Appends bits most-significant first into a growing byte buffer. */
export class BitWriter {
  private bytes = new Uint8Array(256);
  /** Bits written so far. */
  bitLength = 0;

  write(bit: number): void {
    const index = this.bitLength >>> 3;
    if (index >= this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    if (bit) this.bytes[index] |= 0x80 >>> (this.bitLength & 7);
    this.bitLength++;
  }

  /** Drops every bit after the first `bitLength` (used to undo a tentative symbol). */
  truncate(bitLength: number): void {
    if (bitLength > this.bitLength)
      throw new InvariantError({ message: 'BitWriter.truncate past the end' });
    for (let bit = bitLength; bit < this.bitLength && bit < this.bytes.length * 8; bit++) {
      this.bytes[bit >>> 3] &= ~(0x80 >>> (bit & 7));
    }
    this.bitLength = bitLength;
  }

  /** The bits so far, zero-padded to a whole byte. */
  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bitLength / 8));
  }
}

/** Reads `bitLength` bits most-significant first from `bytes`, starting at bit `start`; zeros after them. */
export class BitReader {
  private position: number;
  private readonly end: number;
  constructor(bytes: Uint8Array, start = 0, bitLength = bytes.length * 8 - start) {
    this.bytes = bytes;
    this.position = start;
    this.end = Math.min(start + bitLength, bytes.length * 8);
  }
  private readonly bytes: Uint8Array;

  read(): number {
    const position = this.position++;
    if (position >= this.end) return 0;
    return (this.bytes[position >>> 3] >>> (7 - (position & 7))) & 1;
  }
}

/** Snapshot of an encoder, to undo a tentative symbol (Equal-Info Windows). */
export interface EncoderState {
  readonly low: number;
  readonly high: number;
  readonly pending: number;
  readonly bitLength: number;
}

/** Arithmetic encoder over cumulative frequency tables with total `2^precision`. */
export class ArithmeticEncoder {
  private low = 0;
  private high = TOP;
  private pending = 0;
  private readonly writer = new BitWriter();

  constructor(private readonly precision: number) {}

  /** Encodes the symbol whose interval is `[cumulativeLow, cumulativeHigh)` of `2^precision`. */
  encode(cumulativeLow: number, cumulativeHigh: number): void {
    if (!(cumulativeLow < cumulativeHigh)) {
      throw new InvariantError({
        message: `encoding a symbol of zero frequency (${cumulativeLow}..${cumulativeHigh})`,
      });
    }
    const range = this.high - this.low + 1;
    this.high = this.low + scaleRange(range, cumulativeHigh, this.precision) - 1;
    this.low = this.low + scaleRange(range, cumulativeLow, this.precision);
    for (;;) {
      if (this.high < HALF) {
        this.emit(0);
      } else if (this.low >= HALF) {
        this.emit(1);
        this.low -= HALF;
        this.high -= HALF;
      } else if (this.low >= QUARTER && this.high < THREE_QUARTERS) {
        this.pending++;
        this.low -= QUARTER;
        this.high -= QUARTER;
      } else {
        break;
      }
      this.low = this.low * 2;
      this.high = this.high * 2 + 1;
    }
  }

  /** Bits the stream would take if it were finished now (written + pending + the two closing bits). */
  get bitsIfFinished(): number {
    return this.writer.bitLength + this.pending + 2;
  }

  snapshot(): EncoderState {
    return {
      low: this.low,
      high: this.high,
      pending: this.pending,
      bitLength: this.writer.bitLength,
    };
  }

  restore(state: EncoderState): void {
    this.low = state.low;
    this.high = state.high;
    this.pending = state.pending;
    this.writer.truncate(state.bitLength);
  }

  /**
   * Writes the closing bits (`01` or `10` plus pending bits: any continuation then decodes the same) and
   * returns the stream with its exact bit length.
   */
  finish(): { bytes: Uint8Array; bitLength: number } {
    this.pending++;
    this.emit(this.low < QUARTER ? 0 : 1);
    return { bytes: this.writer.finish(), bitLength: this.writer.bitLength };
  }

  private emit(bit: number): void {
    this.writer.write(bit);
    for (; this.pending > 0; this.pending--) this.writer.write(bit ^ 1);
  }
}

/** Arithmetic decoder matching {@link ArithmeticEncoder}. */
export class ArithmeticDecoder {
  private low = 0;
  private high = TOP;
  private value = 0;

  constructor(
    private readonly precision: number,
    private readonly reader: BitReader,
  ) {
    for (let bit = 0; bit < 32; bit++) this.value = this.value * 2 + reader.read();
  }

  /**
   * Decodes one symbol of the table `cumulative` ([symbols + 1], non-decreasing, from 0 to 2^precision):
   * the largest s whose interval starts at or below the code value.
   */
  decode(cumulative: Uint32Array): number {
    const range = this.high - this.low + 1;
    const offset = this.value - this.low;
    // A valid stream keeps low ≤ value ≤ high; anything else is corrupt data (or a different model).
    if (offset < 0 || offset >= range)
      throw new CompressedDataError({ reason: 'the arithmetic-coded stream left its interval' });
    let lo = 0;
    let hi = cumulative.length - 2;
    while (lo < hi) {
      const middle = (lo + hi + 1) >>> 1;
      if (scaleRange(range, cumulative[middle], this.precision) <= offset) lo = middle;
      else hi = middle - 1;
    }
    const symbol = lo;
    if (cumulative[symbol + 1] === cumulative[symbol]) {
      throw new CompressedDataError({
        reason: 'the arithmetic-coded stream names a symbol of zero frequency',
      });
    }
    this.high = this.low + scaleRange(range, cumulative[symbol + 1], this.precision) - 1;
    this.low = this.low + scaleRange(range, cumulative[symbol], this.precision);
    for (;;) {
      if (this.high < HALF) {
        // nothing to subtract
      } else if (this.low >= HALF) {
        this.low -= HALF;
        this.high -= HALF;
        this.value -= HALF;
      } else if (this.low >= QUARTER && this.high < THREE_QUARTERS) {
        this.low -= QUARTER;
        this.high -= QUARTER;
        this.value -= QUARTER;
      } else {
        break;
      }
      this.low = this.low * 2;
      this.high = this.high * 2 + 1;
      this.value = this.value * 2 + this.reader.read();
    }
    return symbol;
  }
}
