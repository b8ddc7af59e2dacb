import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import { createServer, type StrategyFactory } from '@decodekit/server';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { buildSetup, strategyNames } from '../strategies.js';
import { collect, number } from './option-parsers.js';

/** `ID=REF` or `REF` (the id is then the reference's last path segment, e.g. `stories260K`). */
function parseModelOption(value: string): { id: string; ref: string } {
  const at = value.indexOf('=');
  if (at === 0)
    throw new InvalidArgumentError({
      argument: '--model',
      message: `"${value}" has an empty id; write ID=REF or REF.`,
    });
  if (at > 0) return { id: value.slice(0, at), ref: value.slice(at + 1) };
  const id = (
    value
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .at(-1) ?? ''
  ).replace(/@.*$/, '');
  return { id, ref: value };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve models over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics).',
    )
    .option('--model <ref>', 'model to serve, as REF or ID=REF (repeatable)', collect, [])
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', number('--port'), 8080)
    .option('--concurrency <n>', 'generations that decode at once', number('--concurrency'), 1)
    .option(
      '--max-queue <n>',
      'requests that may wait; one more gets HTTP 429',
      number('--max-queue'),
      32,
    )
    .option(
      '--max-tokens <n>',
      'max_tokens of requests that give none',
      number('--max-tokens'),
      256,
    )
    .option(
      '--strategy <name>',
      `default strategy of requests that name none (requests pick one with decodekit.strategy): ${strategyNames().join(', ')}`,
      'autoregressive',
    )
    .option('--strategies <names>', 'comma-separated strategies requests may pick (default: all)')
    .option('--draft-model <ref>', 'second model for the draft-model and contrastive strategies')
    .option(
      '--shutdown-grace <ms>',
      'on SIGINT/SIGTERM, abort generations still running after this long',
      number('--shutdown-grace'),
      10_000,
    )
    .action(async options => {
      const specs = (options.model.length > 0 ? options.model : [DEFAULT_MODEL]).map(
        parseModelOption,
      );
      const ids = new Set<string>();
      for (const { id } of specs) {
        if (ids.has(id))
          throw new InvalidArgumentError({
            argument: '--model',
            message: `two models are named "${id}"; name them with ID=REF.`,
          });
        ids.add(id);
      }
      const offered: string[] =
        options.strategies === undefined
          ? strategyNames()
          : String(options.strategies)
              .split(',')
              .map((name: string) => name.trim())
              .filter(Boolean);
      for (const name of [...offered, options.strategy]) {
        if (!strategyNames().includes(name)) {
          throw new InvalidArgumentError({
            argument: '--strategies',
            message: `unknown strategy "${name}"; known: ${strategyNames().join(', ')}.`,
          });
        }
      }
      const defaultStrategy = ['ar', 'greedy'].includes(options.strategy)
        ? 'autoregressive'
        : options.strategy;
      if (defaultStrategy !== 'autoregressive' && !offered.includes(defaultStrategy))
        offered.push(defaultStrategy);
      const models: Record<string, LoadedModel> = {};
      const extra: LoadedModel[] = [];
      const disposeAll = async (): Promise<void> => {
        for (const model of [...Object.values(models), ...extra]) await model.dispose();
      };
      try {
        for (const { id, ref } of specs) models[id] = await loadForCli(ref, options.backend);
      } catch (error) {
        await disposeAll();
        throw error;
      }
      const strategies: Record<string, StrategyFactory> = {};
      for (const name of offered) {
        strategies[name] = model =>
          buildSetup(name, {
            model,
            draftModel: options.draftModel,
            backend: options.backend,
            loaded: extra,
          });
      }
      const server = await createServer({
        models,
        strategies,
        // `--strategies` is the whole offer: requests pick among those names only.
        strategyCatalog: [],
        defaultStrategy,
        concurrency: options.concurrency,
        maxQueued: options.maxQueue,
        defaultMaxTokens: options.maxTokens,
        shutdownGraceMs: options.shutdownGrace,
      });
      const url = await server.listen({ host: options.host, port: options.port });
      process.stderr.write(
        `decodekit serve: ${Object.keys(models).join(', ')} on ${url}/v1 (queue ${options.maxQueue}, concurrency ${options.concurrency})\n`,
      );
      await new Promise<void>(resolve => {
        const stop = (signal: string): void => {
          process.stderr.write(`decodekit serve: ${signal}, finishing running requests...\n`);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      await disposeAll();
    });
}
