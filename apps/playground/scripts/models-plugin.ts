import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerImport, type Plugin } from 'vite';

/** One llama2.c model to convert: paths are relative to the mirror (the hub's layout). */
export interface Llama2cSource {
  readonly name: string;
  readonly checkpoint: string;
  readonly tokenizer: string;
}

/** What the app reads from `models/index.json`: each folder's files with their sizes, for load progress. */
export interface ModelsIndex {
  readonly models: Record<
    string,
    { readonly files: Record<string, number>; readonly source: string }
  >;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function writeIfChanged(path: string, bytes: Uint8Array): void {
  if (existsSync(path)) {
    const current = readFileSync(path);
    if (current.length === bytes.length && current.equals(bytes)) return;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/**
 * Converts llama2.c checkpoints with @decodekit/models' `convertLlama2c` into model folders under `outDir`
 * (a gitignored folder inside `public/`), before dev serving or building, so the app serves them as static
 * files. The converter is loaded from its TypeScript source through Vite's module runner: no package build
 * is needed first.
 */
export function modelsPlugin({
  mirror,
  outDir,
  models,
}: {
  mirror: string;
  outDir: string;
  models: readonly Llama2cSource[];
}): Plugin {
  let done: Promise<void> | undefined;
  return {
    name: 'decodekit:models',
    configResolved(config) {
      done ??= (async () => {
        const started = performance.now();
        const { module } = await runnerImport<typeof import('@decodekit/models')>(
          join(repoRoot, 'packages/models/src/index.ts'),
          {
            configFile: false,
            logLevel: 'error',
            resolve: {
              alias: [
                {
                  find: /^@decodekit\/core$/,
                  replacement: join(repoRoot, 'packages/core/src/index.ts'),
                },
              ],
            },
          },
        );
        const index: { models: Record<string, { files: Record<string, number>; source: string }> } =
          {
            models: {},
          };
        for (const model of models) {
          const checkpointPath = join(mirror, model.checkpoint);
          const tokenizerPath = join(mirror, model.tokenizer);
          for (const path of [checkpointPath, tokenizerPath]) {
            if (!existsSync(path)) {
              throw new Error(
                `[decodekit:models] ${path} is missing. Point DECODEKIT_MODELS at a model mirror ` +
                  `(a folder laid out like the hub, e.g. <mirror>/${model.checkpoint}); it defaults to ${mirror}.`,
              );
            }
          }
          const { files } = module.convertLlama2c({
            checkpoint: readFileSync(checkpointPath),
            tokenizer: readFileSync(tokenizerPath),
            name: model.name,
            checkpointPath,
            tokenizerPath,
          });
          const sizes: Record<string, number> = {};
          for (const [file, content] of Object.entries(files)) {
            const bytes =
              typeof content === 'string'
                ? Buffer.from(content)
                : Buffer.from(content as Uint8Array);
            writeIfChanged(join(outDir, model.name, file), bytes);
            sizes[file] = bytes.length;
          }
          index.models[model.name] = { files: sizes, source: model.checkpoint };
        }
        writeIfChanged(
          join(outDir, 'index.json'),
          Buffer.from(`${JSON.stringify(index, null, 2)}\n`),
        );
        config.logger.info(
          `[decodekit:models] converted ${models.map(model => model.name).join(', ')} into ${outDir} ` +
            `in ${Math.round(performance.now() - started)} ms`,
        );
      })();
      return done;
    },
  };
}
