import { listModels, resolveModel } from '@decodekit/models/node';
import type { Command } from 'commander';
import { DTYPE_HELP, checkDtype } from '../load.js';

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('List cached models or pull one into the cache.');
  models
    .command('list')
    .description('List the models in the cache.')
    .action(async () => {
      const entries = await listModels();
      if (entries.length === 0) process.stdout.write('(no cached models)\n');
      for (const entry of entries)
        process.stdout.write(`${typeof entry === 'string' ? entry : JSON.stringify(entry)}\n`);
    });
  models
    .command('pull <ref>')
    .description(
      'Resolve a model (mirror, download, conversion) into the cache and print its folder.',
    )
    .option('--dtype <dtype>', DTYPE_HELP)
    .option('--offline', 'never download (also HF_HUB_OFFLINE=1 or DECODEKIT_OFFLINE=1)')
    .action(async (ref: string, options: { dtype?: string; offline?: boolean }) => {
      const folder = await resolveModel(ref, {
        dtype: checkDtype(options.dtype),
        ...(options.offline ? { offline: true } : {}),
      });
      process.stdout.write(`${folder}\n`);
    });
}
