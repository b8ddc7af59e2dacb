import { readOptionFile, type StrategyDescriptor } from '@decodekit/core';
import { aded } from './aded.js';
import { deserializeAdedStore, serializeAdedStore } from './aded-store.js';
import { selfGeneratedAdedStore } from './self-generated-store.js';

/** `--strategy aded[:store=FILE]`: ADED's tri-gram store + MCTS draft trees. */
export const adedDescriptor: StrategyDescriptor = {
  id: 'aded',
  packageName: '@decodekit/strategy-aded',
  description:
    'ADED: tri-gram store + MCTS draft trees (store=FILE from `decodekit aded build`, default: built from the model’s own stories; lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    store: {
      type: 'string',
      help: 'A store file from `decodekit aded build` (default: 200 self-generated stories, built once and cached).',
    },
    iterations: {
      type: 'integer',
      default: 150,
      min: 1,
      max: 100_000,
      help: 'MCTS iterations per draft.',
    },
  },
  async create(options, environment) {
    let bytes: Uint8Array | undefined;
    const name =
      typeof options.store === 'string'
        ? options.store
        : `aded/${environment.model.info.name.replaceAll('/', '--')}.aded`;
    if (typeof options.store === 'string') {
      bytes = await readOptionFile(
        environment,
        'aded',
        options.store,
        'build one with `decodekit aded build --corpus FILE --out STORE`.',
      );
    } else {
      bytes = await environment.cache?.get(name);
      if (!bytes) {
        environment.log?.(
          `building ADED's default store from 200 stories sampled from ${environment.model.info.name} (once)...`,
        );
        bytes = serializeAdedStore(await selfGeneratedAdedStore(environment.model));
        await environment.cache?.set(name, bytes);
      }
    }
    // ADED's MCTS trees are sized by the paper's choices; the engine's adaptive cut is off by default for it.
    return {
      drafter: aded({
        store: deserializeAdedStore(bytes, name),
        iterations: options.iterations as number | undefined,
      }),
      budget: 16,
      adaptive: false,
    };
  },
};
