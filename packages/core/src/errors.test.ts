import { describe, expect, it } from 'vitest';
import { AbortedError, ContextLengthError, DecodingError, InvalidArgumentError, ModelNotFoundError, UnsupportedCapabilityError } from './errors.js';

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
    const foreign = Object.assign(new Error('x'), { [Symbol.for('decodekit.error')]: true, [Symbol.for('decodekit.error.AbortedError')]: true });
    expect(AbortedError.isInstance(foreign)).toBe(true);
    expect(DecodingError.isInstance(new Error('plain'))).toBe(false);
  });
  it('messages say what to do', () => {
    expect(new ModelNotFoundError({ ref: 'a/b', searched: ['/x', '/y'] }).message).toMatch(/Looked in:\n {2}- \/x\n {2}- \/y/);
    expect(new UnsupportedCapabilityError({ capability: 'tree', backendId: 'onnx-cpu', hint: 'Convert without --plain.' }).message).toContain('without --plain');
  });
});
