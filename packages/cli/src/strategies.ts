import {
  checkDraftCompatibility,
  createDecoder,
  createFromDescriptor,
  InvalidArgumentError,
  type ArtifactCache,
  type CausalLM,
  type Decoder,
  type LoadedModel,
  type LogitsProcessor,
  type Strategy,
  type StrategyDescriptor,
} from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultCacheDir,
  defaultMirrors,
  findKnownModel,
  findLlama2cFiles,
  readLlama2cCheckpoint,
} from '@decodekit/models/node';
import { easyspec } from '@decodekit/strategy-easyspec';
import {
  describeStrategies as describeCatalog,
  resolveStrategySpec,
  strategyHelp as catalogHelp,
  strategyNames as catalogNames,
  STRATEGY_DESCRIPTORS as CATALOG,
  type StrategySummary,
} from '@decodekit/catalog';
import { backendByName } from './load.js';

/** What a strategy factory may need beyond its options. */
export interface StrategyEnvironment {
  model: LoadedModel;
  /** Reference of the second model (`--draft-model`): the draft model, or contrastive decoding's amateur. */
  draftModel?: string;
  backend: string;
  /** ONNX Runtime intra-op threads of the second model on the CPU backend (default: the backend's). */
  draftThreads?: number;
  /** Models this run loaded for strategies; the caller disposes them. */
  loaded?: LoadedModel[];
}

/**
 * How a CLI strategy sets up a decoder: a strategy, processors, or model middleware (a wrapped model),
 * in any combination.
 */
export interface DecoderSetup {
  name: string;
  strategy?: Strategy;
  processors?: LogitsProcessor<unknown>[];
  /** The model to decode with, when the strategy wraps it (contrastive decoding). */
  model?: CausalLM;
}

/**
 * EasySpec runs the draft from its llama2.c checkpoint: reading that file is the CLI's (Node) business, so its
 * descriptor lives here rather than in the browser-safe `@decodekit/catalog`.
 */
const easySpecDescriptor: StrategyDescriptor = {
  id: 'easyspec',
  packageName: '@decodekit/strategy-easyspec',
  description:
    'EasySpec: layer-parallel drafting from the draft’s llama2.c checkpoint, KV fixed up each step (needs --draft-model; lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    groupSize: {
      type: 'integer',
      default: 2,
      min: 1,
      max: 64,
      help: 'Layers drafted in parallel per group.',
    },
    draftLength: { type: 'integer', default: 4, min: 1, max: 64, help: 'Draft tokens per step.' },
    temperature: {
      type: 'number',
      default: 0,
      min: 0,
      help: 'Draft temperature (0 = greedy drafts).',
    },
  },
  async create(options, environment) {
    if (!environment.secondModelRef) {
      throw new InvalidArgumentError({
        argument: '--draft-model',
        message: 'easyspec needs --draft-model REF (e.g. llama2xs).',
      });
    }
    const checkpoint = await llama2cCheckpointOf(environment.secondModelRef);
    const { config, weights } = readLlama2cCheckpoint(
      new Uint8Array(readFileSync(checkpoint)),
      checkpoint,
    );
    return {
      drafter: easyspec({
        config,
        weights,
        groupSize: options.groupSize as number | undefined,
        draftLength: options.draftLength as number | undefined,
        temperature: options.temperature as number | undefined,
      }),
      budget: 8,
      adaptive: false,
    };
  },
};

/**
 * The CLI's strategies, in the order `--help` lists them: `@decodekit/catalog`'s descriptors plus EasySpec
 * (after PEARL). Adding a strategy means adding its descriptor to the catalogue.
 */
export const STRATEGY_DESCRIPTORS: readonly StrategyDescriptor[] = CATALOG.flatMap(descriptor =>
  descriptor.id === 'pearl' ? [descriptor, easySpecDescriptor] : [descriptor],
);

/** The decodekit cache as a descriptor's ArtifactCache: `<cache>/<key>`, written atomically. */
function fileArtifactCache(): ArtifactCache {
  return {
    get(key) {
      const path = join(defaultCacheDir(), key);
      return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
    },
    set(key, bytes) {
      const path = join(defaultCacheDir(), key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.tmp`, bytes);
      renameSync(`${path}.tmp`, path);
      process.stderr.write(`wrote ${path} (${bytes.length} bytes)\n`);
    },
  };
}

/** Reads a file a strategy option names (`store=`, `head=`, `weights=`) or a package's own data (`file:` URLs). */
function readStrategyFile(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path.startsWith('file:') ? new URL(path) : path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InvalidArgumentError({
      argument: '--strategy',
      message: `cannot read "${path}" (${code ?? 'unreadable'}): check the path given in the strategy spec.`,
    });
  }
}

/** The llama2.c checkpoint behind a draft-model reference (a folder, or a known id found in a mirror). */
async function llama2cCheckpointOf(ref: string): Promise<string> {
  const known = findKnownModel(ref);
  const candidates = [
    ref,
    ...(known ? defaultMirrors().map(mirror => join(mirror, known.mirrorPath ?? known.ref)) : []),
  ];
  for (const folder of candidates) {
    const files = existsSync(folder) ? await findLlama2cFiles(folder) : undefined;
    if (files) return files.checkpoint;
  }
  throw new InvalidArgumentError({
    argument: '--draft-model',
    message: `easyspec runs the draft from its llama2.c checkpoint; none found for "${ref}" (looked in ${candidates.join(', ')}).`,
  });
}

/**
 * Loads the second model (a `file:` URL is a folder a package ships) and checks that it can draft for the target
 * (`checkDraftCompatibility`: same token ids and special tokens); a shorter context is a warning on stderr.
 */
async function loadSecondModel(
  environment: StrategyEnvironment,
  ref: string,
): Promise<LoadedModel> {
  const model = await loadModel(ref.startsWith('file:') ? fileURLToPath(ref) : ref, {
    backend: backendByName(environment.backend, environment.draftThreads),
  });
  environment.loaded?.push(model);
  const { warnings } = checkDraftCompatibility(environment.model, model, {
    hint: 'Pass a --draft-model trained for this target (decodekit train fastdraft), or use a strategy without a second model (prompt-lookup, token-recycling).',
  });
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  return model;
}

/** Names `--strategy` accepts. */
export function strategyNames(): string[] {
  return catalogNames(STRATEGY_DESCRIPTORS);
}

/** The catalogue, for help texts: each strategy's id, description and options with their types and defaults. */
export function describeStrategies(): StrategySummary[] {
  return describeCatalog(STRATEGY_DESCRIPTORS);
}

/** The `--help` section listing every strategy and its options (generated from the descriptors). */
export function strategyHelp(): string {
  return catalogHelp(STRATEGY_DESCRIPTORS);
}

/** Builds a decoder setup from a `NAME[:key=value,...]` spec. */
export async function buildSetup(
  spec: string,
  environment: StrategyEnvironment,
): Promise<DecoderSetup> {
  const { descriptor, options } = resolveStrategySpec(spec, { descriptors: STRATEGY_DESCRIPTORS });
  // A bundled second model (FastDraft's committed draft) is the strategy's own: --draft-model is for the others.
  const secondRef = descriptor.secondModel?.bundled
    ? descriptor.secondModel.fallback
    : (environment.draftModel ?? descriptor.secondModel?.fallback);
  if (descriptor.secondModel?.required && !secondRef) {
    throw new InvalidArgumentError({
      argument: '--draft-model',
      message: `this strategy needs a second model: pass --draft-model REF (e.g. llama2xs).`,
    });
  }
  const secondModel =
    descriptor.secondModel && secondRef ? await loadSecondModel(environment, secondRef) : undefined;
  const setup = await createFromDescriptor(descriptor, options, {
    model: environment.model,
    tokenizer: environment.model.tokenizer,
    secondModel,
    secondModelRef: descriptor.secondModel?.bundled ? secondRef : environment.draftModel,
    cache: fileArtifactCache(),
    readFile: path => readStrategyFile(path),
    log: message => process.stderr.write(`${message}\n`),
  });
  return {
    name: spec,
    strategy: setup.strategy,
    processors: setup.processors ? [...setup.processors] : undefined,
    model: setup.model,
  };
}

/**
 * The spec with `adaptive=false` added when it names a drafter and does not set `adaptive` itself (bench's
 * `--no-adaptive`): the drafter then verifies its configured draft every step, so τ depends on the drafter and
 * not on the wall-clock cost curve. Other specs come back unchanged. `separator` joins options (`;` in bench's
 * comma-separated list, `,` in one spec).
 */
export function withFixedDraftSizing(spec: string, separator: ',' | ';' = ','): string {
  const { descriptor, options } = resolveStrategySpec(spec.replaceAll(';', ','), {
    descriptors: STRATEGY_DESCRIPTORS,
  });
  if (descriptor.returns !== 'drafter' || options.adaptive !== undefined) return spec;
  return `${spec}${spec.includes(':') ? separator : ':'}adaptive=false`;
}

/** Builds a speed strategy (no processors, no wrapped model), as `bench` needs. */
export async function buildStrategy(
  spec: string,
  environment: StrategyEnvironment,
): Promise<Strategy> {
  const setup = await buildSetup(spec, environment);
  if (!setup.strategy || setup.processors?.length || setup.model) {
    throw new InvalidArgumentError({
      argument: '--strategies',
      message: `"${spec}" changes what is generated (processors or a wrapped model), so it has no speed to compare at equal output; use \`decodekit eval\` for it.`,
    });
  }
  return setup.strategy;
}

/** A decoder for a setup over `model` (its tokenizer is kept when the setup wraps the model). */
export function decoderFor(
  setup: DecoderSetup,
  model: LoadedModel,
  extraProcessors: LogitsProcessor<unknown>[] = [],
): Decoder {
  let decoder = createDecoder({
    model: setup.model ?? model,
    tokenizer: model.tokenizer,
    processors: [...extraProcessors, ...(setup.processors ?? [])],
  });
  if (setup.strategy) decoder = decoder.use(setup.strategy);
  return decoder;
}
