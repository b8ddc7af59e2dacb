import { DecodingError } from '@decodekit/core';

/**
 * Constrained decoding reached a state where no token is allowed: the vocabulary cannot spell any byte
 * the constraint accepts next (e.g. a tokenizer without byte-fallback tokens), the constraint is complete
 * but the model has no EOS token, or the remaining token budget cannot close the structure.
 */
export class ConstraintDeadEndError extends DecodingError {
  static override readonly errorName: string = 'ConstraintDeadEndError';
  /** Name of the constraint processor. */
  readonly constraint: string;
  /** Tokens generated under the constraint before the dead end. */
  readonly generated: number;
  constructor({
    constraint,
    generated,
    reason,
  }: {
    constraint: string;
    generated: number;
    reason: string;
  }) {
    super({
      name: 'ConstraintDeadEndError',
      message: `Constraint "${constraint}" allows no token after ${generated} generated tokens: ${reason}`,
    });
    this.constraint = constraint;
    this.generated = generated;
  }
  static override isInstance(error: unknown): error is ConstraintDeadEndError {
    return DecodingError.hasMarker(error, 'ConstraintDeadEndError');
  }
}

/** A token outside the constraint was appended to a constrained state (it was forced past the mask). */
export class ConstraintViolationError extends DecodingError {
  static override readonly errorName: string = 'ConstraintViolationError';
  readonly constraint: string;
  readonly tokenId: number;
  constructor({ constraint, tokenId }: { constraint: string; tokenId: number }) {
    super({
      name: 'ConstraintViolationError',
      message: `Token ${tokenId} was appended although constraint "${constraint}" forbids it; apply the constraint processor before sampling (decoder.use(constraint)).`,
    });
    this.constraint = constraint;
    this.tokenId = tokenId;
  }
  static override isInstance(error: unknown): error is ConstraintViolationError {
    return DecodingError.hasMarker(error, 'ConstraintViolationError');
  }
}
