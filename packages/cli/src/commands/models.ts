import { listModels, resolveModel } from '@decodekit/models/node';
import type { Command } from 'commander';

export function registerModels(program: Command): void {
  const models = program.command('models').description('List cached models or pull one into the cache.');
  models
    .command('list')
    .description('List the models in the cache.')
    .action(async () => {
      const entries = await listModels();
      if (entries.length === 0) process.stdout.write('(no cached models)\n');
      for (const entry of entries) process.stdout.write(`${typeof entry === 'string' ? entry : JSON.stringify(entry)}\n`);
    });
  models
    .command('pull <ref>')
    .description('Resolve a model (mirror, download, conversion) into the cache and print its folder.')
    .action(async (ref: string) => {
      const folder = await resolveModel(ref);
      process.stdout.write(`${folder}\n`);
    });
}
