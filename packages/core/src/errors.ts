/**
 * The DecodingError family. Every error decodekit throws on purpose is a DecodingError subclass whose
 * message tells the user what to do. Identity is checked with `isInstance` through `Symbol.for` markers,
 * so it survives two copies of `@decodekit/core` in one process (as the AI SDK does).
 */
const baseMarker = 'decodekit.error';
const baseSymbol = Symbol.for(baseMarker);

function markerSymbol(name: string): symbol {
  return Symbol.for(`${baseMarker}.${name}`);
}

/** Base class of every error decodekit throws on purpose. */
export class DecodingError extends Error {
  /** @internal marker checked by `isInstance` */
  readonly [baseSymbol] = true;
  /** The error's class name, also its marker. Subclasses override it. */
  static readonly errorName: string = 'DecodingError';
  override readonly cause?: unknown;

  constructor({ name, message, cause }: { name: string; message: string; cause?: unknown }) {
    super(message);
    this.name = name;
    this.cause = cause;
    // Mark the instance with its class and every ancestor, so isInstance works across copies of core.
    let proto: unknown = Object.getPrototypeOf(this);
    while (proto && proto !== Error.prototype) {
      const ctor = (proto as { constructor: { errorName?: string } }).constructor;
      if (ctor.errorName)
        (this as unknown as Record<symbol, boolean>)[markerSymbol(ctor.errorName)] = true;
      proto = Object.getPrototypeOf(proto);
    }
  }

  /** True when `error` is a DecodingError from any copy of `@decodekit/core`. */
  static isInstance(error: unknown): error is DecodingError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[baseSymbol] === true
    );
  }

  /** @internal */
  static hasMarker(error: unknown, name: string): boolean {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[markerSymbol(name)] === true
    );
  }
}

/** A user-supplied argument or option is invalid. */
export class InvalidArgumentError extends DecodingError {
  static override readonly errorName: string = 'InvalidArgumentError';
  readonly argument: string;
  constructor({ argument, message }: { argument: string; message: string }) {
    super({ name: 'InvalidArgumentError', message: `Invalid argument "${argument}": ${message}` });
    this.argument = argument;
  }
  static override isInstance(error: unknown): error is InvalidArgumentError {
    return DecodingError.hasMarker(error, 'InvalidArgumentError');
  }
}

/** The model or backend lacks a capability the caller asked for (e.g. tree attention on a plain export). */
export class UnsupportedCapabilityError extends DecodingError {
  static override readonly errorName: string = 'UnsupportedCapabilityError';
  readonly capability: string;
  constructor({
    capability,
    backendId,
    hint,
  }: {
    capability: string;
    backendId: string;
    hint?: string;
  }) {
    super({
      name: 'UnsupportedCapabilityError',
      message: `Backend "${backendId}" does not support "${capability}".${hint ? ` ${hint}` : ''}`,
    });
    this.capability = capability;
  }
  static override isInstance(error: unknown): error is UnsupportedCapabilityError {
    return DecodingError.hasMarker(error, 'UnsupportedCapabilityError');
  }
}

/** The inference runtime failed; `cause` holds the runtime's own error. */
export class BackendError extends DecodingError {
  static override readonly errorName: string = 'BackendError';
  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ name: 'BackendError', message, cause });
  }
  static override isInstance(error: unknown): error is BackendError {
    return DecodingError.hasMarker(error, 'BackendError');
  }
}

/** An internal invariant was broken: a bug in decodekit. */
export class InvariantError extends DecodingError {
  static override readonly errorName: string = 'InvariantError';
  constructor({ message }: { message: string }) {
    super({
      name: 'InvariantError',
      message: `Internal invariant failed: ${message}. This is a bug in decodekit; please report it.`,
    });
  }
  static override isInstance(error: unknown): error is InvariantError {
    return DecodingError.hasMarker(error, 'InvariantError');
  }
}

/** A model could not be found anywhere the resolver looked. `searched` lists every place. */
export class ModelNotFoundError extends DecodingError {
  static override readonly errorName: string = 'ModelNotFoundError';
  readonly ref: string;
  readonly searched: readonly string[];
  constructor({
    ref,
    searched,
    hint,
  }: {
    ref: string;
    searched: readonly string[];
    hint?: string;
  }) {
    super({
      name: 'ModelNotFoundError',
      message:
        `Model "${ref}" was not found. Looked in:\n${searched.map(place => `  - ${place}`).join('\n')}\n` +
        (hint ??
          'Pass a model folder path, set DECODEKIT_MODELS to a mirror folder, or go online to download it.'),
    });
    this.ref = ref;
    this.searched = searched;
  }
  static override isInstance(error: unknown): error is ModelNotFoundError {
    return DecodingError.hasMarker(error, 'ModelNotFoundError');
  }
}

/** A model folder, checkpoint, tokenizer or graph is malformed or inconsistent. */
export class ModelFormatError extends DecodingError {
  static override readonly errorName: string = 'ModelFormatError';
  readonly path: string;
  constructor({ path, message, cause }: { path: string; message: string; cause?: unknown }) {
    super({ name: 'ModelFormatError', message: `${path}: ${message}`, cause });
    this.path = path;
  }
  static override isInstance(error: unknown): error is ModelFormatError {
    return DecodingError.hasMarker(error, 'ModelFormatError');
  }
}

/** Why a model download failed (see {@link ModelDownloadError}). */
export type ModelDownloadFailure =
  | 'unauthorized' // 401/403: private or gated repo, no token or a rejected one
  | 'server' // 5xx or another unexpected HTTP status
  | 'network' // the connection failed or was cut mid-file
  | 'incomplete' // the body ended before the size the hub announced
  | 'integrity' // the bytes do not hash to the hub's sha256 (LFS oid) or git blob id
  | 'disk'; // the cache refused the write (full disk, read-only folder)

/**
 * Downloading a model file failed. `file` is the repository path, `url` what was requested, `reason` the
 * kind of failure; the message says what to do. A partial download is never left where a model is read
 * from: resumable parts stay beside the cache's blobs, and a corrupt one is deleted.
 */
export class ModelDownloadError extends DecodingError {
  static override readonly errorName: string = 'ModelDownloadError';
  readonly ref: string;
  readonly file: string;
  readonly url: string;
  readonly reason: ModelDownloadFailure;
  /** The HTTP status, for `unauthorized` and `server`. */
  readonly status?: number;
  constructor({
    ref,
    file,
    url,
    reason,
    status,
    message,
    cause,
  }: {
    ref: string;
    file: string;
    url: string;
    reason: ModelDownloadFailure;
    status?: number;
    message: string;
    cause?: unknown;
  }) {
    super({
      name: 'ModelDownloadError',
      message: `Downloading ${file} of "${ref}" failed: ${message}`,
      cause,
    });
    this.ref = ref;
    this.file = file;
    this.url = url;
    this.reason = reason;
    this.status = status;
  }
  static override isInstance(error: unknown): error is ModelDownloadError {
    return DecodingError.hasMarker(error, 'ModelDownloadError');
  }
}

/** The prompt plus requested tokens do not fit the model's context. */
export class ContextLengthError extends DecodingError {
  static override readonly errorName: string = 'ContextLengthError';
  readonly length: number;
  readonly contextLength: number;
  constructor({
    length,
    contextLength,
    what,
  }: {
    length: number;
    contextLength: number;
    what?: string;
  }) {
    super({
      name: 'ContextLengthError',
      message:
        `${what ?? 'The sequence'} needs ${length} positions but the model's context is ${contextLength}. ` +
        'Shorten the prompt or lower maxTokens.',
    });
    this.length = length;
    this.contextLength = contextLength;
  }
  static override isInstance(error: unknown): error is ContextLengthError {
    return DecodingError.hasMarker(error, 'ContextLengthError');
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `: ${reason.message}`;
  if (typeof reason === 'string') return `: ${reason}`;
  return '';
}

/** The operation was aborted through its AbortSignal. */
export class AbortedError extends DecodingError {
  static override readonly errorName: string = 'AbortedError';
  constructor({ reason }: { reason?: unknown } = {}) {
    super({
      name: 'AbortedError',
      message: `The operation was aborted${describeReason(reason)}.`,
      cause: reason,
    });
  }
  static override isInstance(error: unknown): error is AbortedError {
    return DecodingError.hasMarker(error, 'AbortedError');
  }
}

/** A model, sequence or decoder was used after `dispose()`. */
export class DisposedError extends DecodingError {
  static override readonly errorName: string = 'DisposedError';
  constructor({ what }: { what: string }) {
    super({
      name: 'DisposedError',
      message: `${what} was used after dispose(). Create a new one instead.`,
    });
  }
  static override isInstance(error: unknown): error is DisposedError {
    return DecodingError.hasMarker(error, 'DisposedError');
  }
}

/** Two models (e.g. draft and target), or a model and its tokenizer, disagree on the vocabulary. */
export class VocabMismatchError extends DecodingError {
  static override readonly errorName: string = 'VocabMismatchError';
  constructor({ message }: { message: string }) {
    super({ name: 'VocabMismatchError', message });
  }
  static override isInstance(error: unknown): error is VocabMismatchError {
    return DecodingError.hasMarker(error, 'VocabMismatchError');
  }
}

/** Throws an InvariantError when `condition` is false. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError({ message });
}

/** Throws AbortedError when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError({ reason: signal.reason });
}

/**
 * Compressed data (e.g. from `@decodekit/compress`) is malformed, truncated or fails its checksum. `reason`
 * says what was wrong.
 */
export class CompressedDataError extends DecodingError {
  static override readonly errorName: string = 'CompressedDataError';
  readonly reason: string;
  constructor({ reason, hint }: { reason: string; hint?: string }) {
    super({
      name: 'CompressedDataError',
      message: `The compressed data is not valid: ${reason}. ${hint ?? 'Check that the file is complete and was written by decodekit compress.'}`,
    });
    this.reason = reason;
  }
  static override isInstance(error: unknown): error is CompressedDataError {
    return DecodingError.hasMarker(error, 'CompressedDataError');
  }
}

/**
 * Data was produced with one model (or tokenizer, or backend numerics) and is being read with another: `field`
 * names what differs, `expected` is what the data records, `actual` what the given model has.
 */
export class ModelMismatchError extends DecodingError {
  static override readonly errorName: string = 'ModelMismatchError';
  readonly field: string;
  readonly expected: string;
  readonly actual: string;
  constructor({
    field,
    expected,
    actual,
    hint,
  }: {
    field: string;
    expected: string;
    actual: string;
    hint?: string;
  }) {
    super({
      name: 'ModelMismatchError',
      message:
        `The data was compressed with a different model: ${field} is "${expected}" in the data but "${actual}" here. ` +
        (hint ?? 'Decompress with the same model files, dtype and backend that compressed it.'),
    });
    this.field = field;
    this.expected = expected;
    this.actual = actual;
  }
  static override isInstance(error: unknown): error is ModelMismatchError {
    return DecodingError.hasMarker(error, 'ModelMismatchError');
  }
}
