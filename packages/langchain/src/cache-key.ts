import type { LogitsProcessor, Strategy } from '@decodekit/core';
import type { DecodekitModelInput } from './resolve-model.js';

/**
 * Something whose behaviour a cache key must capture: a logits processor or a strategy. Both are closures
 * whose configuration cannot be read back, so one that carries a string `cacheKey` (a description of its
 * whole configuration, e.g. `"bad-words:[[42]]"`) is keyed by it, and any other by its object identity.
 */
type Keyed = { readonly name?: string; readonly cacheKey?: unknown };

const identities = new WeakMap<object, string>();

/**
 * The cache identity of a processor or strategy: its own `cacheKey` when it has one, else a random id
 * drawn once per object. Two objects with the same name but different settings (two `badWords` lists,
 * two JSON schemas) never share an identity, and an identity never collides across processes, so a
 * persistent cache cannot return another configuration's text; the same object keeps hitting the cache.
 */
export function cacheIdentity(value: Keyed): string {
  if (typeof value.cacheKey === 'string' && value.cacheKey.length > 0) return value.cacheKey;
  let identity = identities.get(value);
  if (identity === undefined) {
    identity = `${value.name ?? 'anonymous'}#${randomHex(32)}`;
    identities.set(value, identity);
  }
  return identity;
}

/** The cache identities of a processor list (undefined stays undefined, so absent options drop out of keys). */
export function processorIdentities(
  processors: readonly LogitsProcessor<unknown>[] | undefined,
): string[] | undefined {
  return processors?.map(processor => cacheIdentity(processor));
}

/** The cache identity of a strategy, or undefined (autoregressive, the default). */
export function strategyIdentity(strategy: Strategy | undefined): string | undefined {
  return strategy === undefined ? undefined : cacheIdentity(strategy);
}

/**
 * What identifies the weights behind a model input: a hub id or folder string as given (a revision is part
 * of it: `org/name@rev`), or for a `LoadedModel` its name, the folder or URL it was loaded from and the
 * backend that runs it.
 */
export function modelIdentity(model: DecodekitModelInput): string | Record<string, string> {
  if (typeof model === 'string') return model;
  return { name: model.info.name, source: model.source, backend: model.capabilities.backendId };
}

/**
 * `digits` random hex digits from `crypto.getRandomValues` (Node and every browser context; `randomUUID`
 * needs a secure context in browsers).
 */
export function randomHex(digits: number): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  return Array.from(bytes, byte => byte.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, digits);
}
