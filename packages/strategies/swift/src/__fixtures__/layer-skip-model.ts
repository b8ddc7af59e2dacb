import { wrapModel } from '@decodekit/core';
import type { CausalLM } from '@decodekit/core';

function unit(...values: number[]): number {
  let hash = 0x9e3779b9;
  for (const value of values) {
    hash = Math.imul(hash ^ value, 0x85ebca6b);
    hash ^= hash >>> 13;
  }
  return (hash >>> 0) / 4294967296;
}

/**
 * Gives a mock model `layerSkip`: a forward with skipped layers returns the full model's logits plus a
 * deterministic perturbation per skipped layer (layer i's perturbation scales with `damage[i]`), so a
 * skipped model drafts imperfectly and some layer sets are better than others.
 */
export function layerSkipModel<TModel extends CausalLM>(
  model: TModel,
  damage: readonly number[] = [0, 0.2, 3, 1, 0],
): TModel {
  return wrapModel({
    model,
    middleware: {
      name: 'emulated-layer-skip',
      transformInfo: info => ({ ...info, numLayers: damage.length }),
      transformCapabilities: capabilities => ({ ...capabilities, layerSkip: true }),
      async wrapForward({ input, options, doForward }) {
        const skip = input.skipLayers ?? [];
        const output = await doForward({ ...input, skipLayers: undefined }, options);
        if (skip.length === 0) return output;
        const logits = Float32Array.from(output.logits);
        const vocab = model.info.vocabSize;
        for (let row = 0; row < input.tokens.length; row++) {
          for (const layer of skip) {
            for (let token = 0; token < vocab; token++) {
              logits[row * vocab + token] +=
                damage[layer] * (unit(layer, input.tokens[row], token) - 0.5) * 4;
            }
          }
        }
        return { ...output, logits };
      },
    },
  });
}
