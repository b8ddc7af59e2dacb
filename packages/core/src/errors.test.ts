import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  CompressedDataError,
  ContextLengthError,
  DecodingError,
  InvalidArgumentError,
  ModelMismatchError,
  ModelNotFoundError,
  UnsupportedCapabilityError,
} from './errors.js';

describe('DecodingError family', () => {
  it('isInstance works by marker, including for ancestors', () => {
    const error = new InvalidArgumentError({ argument: 'topP', message: 'must be in (0, 1].' });
    expect(DecodingError.isInstance(error)).toBe(true);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(ContextLengthError.isInstance(error)).toBe(false);
    expect(error.argument).toBe('topP');
    expect(error.name).toBe('InvalidArgumentError');
    expect(error.message).toContain('topP');
  });
  it('survives a second copy of core (same markers on a plain object)', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('decodekit.error')]: true,
      [Symbol.for('decodekit.error.AbortedError')]: true,
    });
    expect(AbortedError.isInstance(foreign)).toBe(true);
    expect(DecodingError.isInstance(new Error('plain'))).toBe(false);
  });
  it('messages say what to do', () => {
    expect(new ModelNotFoundError({ ref: 'a/b', searched: ['/x', '/y'] }).message).toMatch(
      /Looked in:\n {2}- \/x\n {2}- \/y/,
    );
    expect(
      new UnsupportedCapabilityError({
        capability: 'tree',
        backendId: 'onnx-cpu',
        hint: 'Convert without --plain.',
      }).message,
    ).toContain('without --plain');
  });
  it('compression errors carry what differs', () => {
    const mismatch = new ModelMismatchError({ field: 'revision', expected: 'abc', actual: 'def' });
    expect(ModelMismatchError.isInstance(mismatch) && DecodingError.isInstance(mismatch)).toBe(
      true,
    );
    expect(CompressedDataError.isInstance(mismatch)).toBe(false);
    expect([mismatch.field, mismatch.expected, mismatch.actual]).toEqual([
      'revision',
      'abc',
      'def',
    ]);
    expect(mismatch.message).toMatch(
      /revision is "abc" in the data but "def" here\. Decompress with the same model/,
    );
    const corrupt = new CompressedDataError({
      reason: 'it ends inside a block payload (truncated file)',
    });
    expect(CompressedDataError.isInstance(corrupt)).toBe(true);
    expect(corrupt.reason).toContain('truncated');
    expect(corrupt.message).toMatch(/^The compressed data is not valid: .*decodekit compress\.$/);
  });
});
