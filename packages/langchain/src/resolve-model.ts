import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';

/** The model every class uses when none is given: llama2.c's 260K-parameter TinyStories model. */
export const DEFAULT_MODEL = 'karpathy/tinyllamas/stories260K';

/** A model reference: a hub id or folder for `loadModel`, or a model you loaded yourself. */
export type DecodekitModelInput = string | LoadedModel;

const shared = new Map<string, Promise<LoadedModel>>();

/**
 * Resolves a model reference. Strings go through `@decodekit/backend-onnx`'s Node `loadModel` once per
 * process: every instance naming the same reference shares one loaded model. The backend is imported on
 * first use, so a browser bundle that passes a `LoadedModel` never touches the Node entry.
 */
export function resolveModel(model: DecodekitModelInput): Promise<LoadedModel> {
  if (typeof model !== 'string') return Promise.resolve(model);
  let pending = shared.get(model);
  if (!pending) {
    pending = loadByName(model);
    shared.set(model, pending);
    // A failed load is not cached: the next call tries again (e.g. after the model was downloaded).
    pending.catch(() => shared.delete(model));
  }
  return pending;
}

async function loadByName(ref: string): Promise<LoadedModel> {
  const backend = (await import('@decodekit/backend-onnx')) as {
    loadModel?: (ref: string) => Promise<LoadedModel>;
  };
  if (typeof backend.loadModel !== 'function') {
    throw new InvalidArgumentError({
      argument: 'model',
      message:
        `cannot load "${ref}" by name here: loadModel is Node-only. In a browser, load the model yourself ` +
        '(createWasmBackend().load(url)) and pass the LoadedModel as `model`.',
    });
  }
  return backend.loadModel(ref);
}

/** Checks a model option where it is given (constructor), so a wrong value fails before the first call. */
export function validateModelInput(model: unknown): asserts model is DecodekitModelInput {
  if (typeof model === 'string') {
    if (model.length === 0)
      throw new InvalidArgumentError({ argument: 'model', message: 'is an empty string.' });
    return;
  }
  const candidate = model as Partial<LoadedModel> | null;
  if (
    !candidate ||
    typeof candidate.createSequence !== 'function' ||
    !candidate.tokenizer ||
    typeof candidate.tokenizer.applyChatTemplate !== 'function'
  ) {
    throw new InvalidArgumentError({
      argument: 'model',
      message:
        'must be a hub id / folder path, or a LoadedModel (a CausalLM with its tokenizer) from loadModel().',
    });
  }
}

/**
 * Disposes every model loaded by name and forgets them; the next call loads again. Models you passed in
 * yourself are yours to dispose.
 */
export async function disposeSharedModels(): Promise<void> {
  const pending = [...shared.values()];
  shared.clear();
  const models = await Promise.allSettled(pending);
  await Promise.all(
    models.map(result => (result.status === 'fulfilled' ? result.value.dispose() : undefined)),
  );
}
