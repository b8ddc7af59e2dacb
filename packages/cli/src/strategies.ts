import {
  autoregressive,
  createDecoder,
  InvalidArgumentError,
  speculative,
  type CausalLM,
  type Decoder,
  type LoadedModel,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultCacheDir, defaultMirrors, findKnownModel, findLlama2cFiles, readLlama2cCheckpoint } from '@decodekit/models/node';
import { easySpec } from '@decodekit/strategy-easyspec';
import { onlineSpeculative } from '@decodekit/strategy-online-sd';
import { s2d } from '@decodekit/strategy-s2d';
import { aded, buildAdedStoreFromTokens, deserializeAdedStore, serializeAdedStore } from '@decodekit/strategy-aded';
import { beamSearch } from '@decodekit/strategy-beam-search';
import { copyspec } from '@decodekit/strategy-copyspec';
import { lookaheadDecoding } from '@decodekit/strategy-lookahead';
import { lud } from '@decodekit/strategy-lud';
import { swift } from '@decodekit/strategy-swift';
import { pearl } from '@decodekit/strategy-pearl';
import { parseAcceptanceHead, specdecPP } from '@decodekit/strategy-specdec-pp';
import { contrastiveDecoding } from '@decodekit/strategy-contrastive-decoding';
import { diverseBeamSearch } from '@decodekit/strategy-diverse-beam-search';
import { draftModel } from '@decodekit/strategy-draft-model';
import { dyspec } from '@decodekit/strategy-dyspec';
import { rsd } from '@decodekit/strategy-rsd';
import { spectr } from '@decodekit/strategy-spectr';
import { momentumDecoding } from '@decodekit/strategy-momentum-decoding';
import { ngramModel, superposedStrategy } from '@decodekit/strategy-superposed-decoding';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { backendByName } from './load.js';
import { parseStrategySpec } from './strategy-spec.js';

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
  processors?: LogitsProcessor<any>[];
  /** The model to decode with, when the strategy wraps it (contrastive decoding). */
  model?: CausalLM;
}

type Options = Record<string, string | number | boolean>;

interface Entry {
  description: string;
  keys: readonly string[];
  create(options: Options, environment: StrategyEnvironment): Promise<Omit<DecoderSetup, 'name'>>;
}

const num = (value: unknown): number | undefined => (value === undefined ? undefined : Number(value));

async function secondModel(environment: StrategyEnvironment, fallback?: string): Promise<LoadedModel> {
  const ref = environment.draftModel ?? fallback;
  if (!ref) {
    throw new InvalidArgumentError({ argument: '--draft-model', message: 'this strategy needs a second model: pass --draft-model REF (e.g. llama2xs).' });
  }
  const model = await loadModel(ref, { backend: backendByName(environment.backend, environment.draftThreads) });
  environment.loaded?.push(model);
  return model;
}

/**
 * ADED's default store: tri-grams of text the model itself generates (200 stories sampled from BOS at
 * T = 0.8, seeds 0..199), built once and cached next to the converted models.
 */
async function defaultAdedStore(model: LoadedModel): Promise<string> {
  const path = join(defaultCacheDir(), 'aded', `${model.info.name.replaceAll('/', '--')}.aded`);
  if (existsSync(path)) return path;
  process.stderr.write(`building ADED's default store from 200 stories sampled from ${model.info.name} (once)...\n`);
  const decoder = createDecoder({ model });
  const documents: number[][] = [];
  for (let seed = 0; seed < 200; seed++) {
    const { tokens, promptTokens } = await decoder.generate({ tokens: [model.info.bosTokenId ?? 1] }, { maxTokens: 256, temperature: 0.8, seed });
    documents.push([...promptTokens, ...tokens]);
  }
  const bytes = serializeAdedStore(buildAdedStoreFromTokens(documents));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
  process.stderr.write(`wrote ${path} (${bytes.length} bytes)\n`);
  return path;
}

/**
 * Superposed decoding's default n-gram corpus: 200 stories sampled from the model itself (from BOS, T = 1,
 * seeds 0..199, ≤ 256 tokens), generated once and cached next to the converted models as token ids.
 */
async function defaultSuperposedCorpus(model: LoadedModel): Promise<number[][]> {
  const path = join(defaultCacheDir(), 'superposed', `${model.info.name.replaceAll('/', '--')}.json`);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as number[][];
  process.stderr.write(`building superposed decoding's n-gram corpus from 200 stories sampled from ${model.info.name} (once)...\n`);
  const decoder = createDecoder({ model });
  const documents: number[][] = [];
  for (let seed = 0; seed < 200; seed++) {
    const { tokens, promptTokens } = await decoder.generate({ tokens: [model.info.bosTokenId ?? 1] }, { maxTokens: 256, temperature: 1, seed });
    documents.push([...promptTokens, ...tokens]);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(documents));
  renameSync(`${path}.tmp`, path);
  return documents;
}

/** The llama2.c checkpoint behind a draft-model reference (a folder, or a known id found in a mirror). */
async function llama2cCheckpointOf(ref: string): Promise<string> {
  const known = findKnownModel(ref);
  const candidates = [ref, ...(known ? defaultMirrors().map(mirror => join(mirror, known.mirrorPath ?? known.ref)) : [])];
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
 * SpecDec++'s default acceptance head for a target/draft pair: fitted once on 20 prompts sampled from the
 * target itself (T = 0 labels, rejection weight 6) and cached.
 */
async function defaultSpecdecHead(target: LoadedModel, draft: LoadedModel): Promise<string> {
  const name = `${target.info.name}--${draft.info.name}`.replaceAll('/', '--');
  const path = join(defaultCacheDir(), 'specdec-pp', `${name}.json`);
  if (existsSync(path)) return path;
  process.stderr.write(`fitting SpecDec++'s acceptance head for ${name} (once)...\n`);
  const decoder = createDecoder({ model: target });
  const prompts: string[] = [];
  for (let seed = 0; seed < 20; seed++) {
    const { text } = await decoder.generate({ tokens: [target.info.bosTokenId ?? 1] }, { maxTokens: 24, temperature: 1, seed });
    prompts.push(text.split(/(?<=[.!?])\s/)[0] || text);
  }
  const { fitHeadForPair } = await import('./commands/specdec-pp.js');
  const fit = await fitHeadForPair({ target, draft, prompts, holdout: 4, temperature: 0, rejectionWeight: 6 });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(fit.head.toJSON())}\n`);
  return path;
}

const registry: Record<string, Entry> = {
  ar: { description: 'autoregressive decoding (the baseline)', keys: [], create: async () => ({ strategy: autoregressive() }) },
  'prompt-lookup': {
    description: 'Prompt Lookup Decoding: copy n-gram continuations from the context (lossless)',
    keys: ['budget', 'adaptive', 'maxNgramSize', 'minNgramSize', 'numSpeculativeTokens', 'prefer', 'branches'],
    create: async options => ({
      strategy: speculative({
        drafter: promptLookup({
          maxNgramSize: num(options.maxNgramSize),
          minNgramSize: num(options.minNgramSize),
          numSpeculativeTokens: num(options.numSpeculativeTokens),
          prefer: options.prefer as 'latest' | 'earliest' | undefined,
          branches: num(options.branches),
        }),
        budget: num(options.budget),
        adaptive: options.adaptive as boolean | undefined,
      }),
    }),
  },
  'token-recycling': {
    description: 'Token Recycling: a draft tree from the target’s own recent top-k candidates (lossless)',
    keys: ['budget', 'adaptive', 'topK'],
    create: async options => ({
      strategy: speculative({
        drafter: tokenRecycling({ topK: num(options.topK) }),
        budget: num(options.budget) ?? 32,
        adaptive: options.adaptive as boolean | undefined,
      }),
    }),
  },
  'draft-model': {
    description: 'a second, smaller model drafts (needs --draft-model; lossless)',
    keys: ['budget', 'adaptive', 'numAssistantTokens', 'schedule', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return {
        strategy: speculative({
          drafter: draftModel({
            model: draft,
            numAssistantTokens: num(options.numAssistantTokens),
            schedule: options.schedule as 'heuristic' | 'constant' | undefined,
            temperature: num(options.temperature),
          }),
          budget: num(options.budget),
          adaptive: options.adaptive as boolean | undefined,
        }),
      };
    },
  },
  spectr: {
    description: 'SpecTr: k i.i.d. draft sequences, K-SEQ optimal-transport verification (needs --draft-model)',
    keys: ['k', 'draftLength', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return { strategy: spectr({ model: draft, k: num(options.k), draftLength: num(options.draftLength), temperature: num(options.temperature) }) };
    },
  },
  rsd: {
    description: 'Recursive Speculative Decoding: draft trees without replacement (needs --draft-model)',
    keys: ['variant', 'branching', 'depth', 'beamWidth', 'budget', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return {
        strategy: rsd({
          model: draft,
          variant: options.variant as 'constant' | 'beam' | undefined,
          branching: num(options.branching),
          depth: num(options.depth),
          beamWidth: num(options.beamWidth),
          budget: num(options.budget),
          temperature: num(options.temperature),
        }),
      };
    },
  },
  dyspec: {
    description: 'DySpec: dynamic draft trees grown by draft probability (needs --draft-model)',
    keys: ['variant', 'budget', 'threshold', 'maxDepth', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return {
        strategy: dyspec({
          model: draft,
          variant: options.variant as 'greedy' | 'threshold' | undefined,
          budget: num(options.budget),
          threshold: num(options.threshold),
          maxDepth: num(options.maxDepth),
          temperature: num(options.temperature),
        }),
      };
    },
  },
  copyspec: {
    description: 'CopySpec: copy long spans of the history found by a rolling hash; token-recycling fallback (lossless)',
    keys: ['budget', 'adaptive', 'gamma', 'numberCopy', 'prefer', 'fallback'],
    create: async options => ({
      strategy: speculative({
        drafter: copyspec({
          gamma: num(options.gamma),
          numberCopy: num(options.numberCopy),
          prefer: options.prefer as 'earliest' | 'latest' | undefined,
          fallback: options.fallback === 'none' ? undefined : tokenRecycling(),
        }),
        budget: num(options.budget) ?? 16,
        adaptive: options.adaptive as boolean | undefined,
      }),
    }),
  },
  lookahead: {
    description: 'Lookahead decoding: Jacobi window + n-gram pool + verification in one tree forward (lossless)',
    keys: ['windowSize', 'ngramSize', 'guessSetSize'],
    create: async options => ({
      strategy: lookaheadDecoding({
        windowSize: num(options.windowSize) ?? 4,
        ngramSize: num(options.ngramSize) ?? 3,
        guessSetSize: num(options.guessSetSize) ?? 2,
      }),
    }),
  },
  aded: {
    description: 'ADED: tri-gram store + MCTS draft trees (store=FILE from `decodekit aded build`, default: built from the model’s own stories; lossless)',
    keys: ['store', 'budget', 'adaptive', 'iterations'],
    async create(options, environment) {
      const path = typeof options.store === 'string' ? options.store : await defaultAdedStore(environment.model);
      const store = deserializeAdedStore(new Uint8Array(readFileSync(path)), path);
      return {
        strategy: speculative({
          drafter: aded({ store, iterations: num(options.iterations) }),
          budget: num(options.budget) ?? 16,
          adaptive: (options.adaptive as boolean | undefined) ?? false,
        }),
      };
    },
  },
  swift: {
    description: 'SWIFT: self-speculation by skipping layers found on the fly (lossless)',
    keys: ['skipRatio', 'maxDraftSteps'],
    create: async options => ({ strategy: swift({ skipRatio: num(options.skipRatio), maxDraftSteps: num(options.maxDraftSteps) }) }),
  },
  lud: {
    description: 'lexical-unit multi-token steps (lossless only with threshold > 1; needs a LUD-tuned model to pay off)',
    keys: ['threshold', 'placeholders'],
    create: async options => ({ strategy: lud({ threshold: num(options.threshold), placeholders: num(options.placeholders) }) }),
  },
  'specdec-pp': {
    description: 'SpecDec++: stop drafting when a fitted acceptance head predicts a rejection (head=FILE from `decodekit specdec-pp fit`, default fitted once and cached; needs --draft-model)',
    keys: ['head', 'threshold', 'maxLength', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      const headFile = typeof options.head === 'string' ? options.head : await defaultSpecdecHead(environment.model, draft);
      return {
        strategy: specdecPP({
          model: draft,
          head: parseAcceptanceHead(readFileSync(headFile, 'utf8')),
          threshold: num(options.threshold),
          maxLength: num(options.maxLength),
          temperature: num(options.temperature),
        }),
      };
    },
  },
  pearl: {
    description: 'PEARL: pre-/post-verify with draft and target interleaved (needs --draft-model)',
    keys: ['gamma', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return { strategy: pearl({ model: draft, gamma: num(options.gamma), temperature: num(options.temperature) }) };
    },
  },
  easyspec: {
    description: 'EasySpec: layer-parallel drafting from the draft’s llama2.c checkpoint, KV fixed up each step (needs --draft-model; lossless)',
    keys: ['groupSize', 'draftLength', 'temperature', 'budget'],
    async create(options, environment) {
      if (!environment.draftModel) {
        throw new InvalidArgumentError({ argument: '--draft-model', message: 'easyspec needs --draft-model REF (e.g. llama2xs).' });
      }
      const checkpoint = await llama2cCheckpointOf(environment.draftModel);
      const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint);
      return {
        strategy: speculative({
          drafter: easySpec({ config, weights, groupSize: num(options.groupSize), draftLength: num(options.draftLength), temperature: num(options.temperature) }),
          budget: num(options.budget) ?? 8,
          adaptive: false,
        }),
      };
    },
  },
  'online-sd': {
    description: 'online speculative decoding: the draft’s output is corrected online from verification results (needs --draft-model; lossless)',
    keys: ['learningRate', 'correction', 'draftLength', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return {
        strategy: onlineSpeculative({
          model: draft,
          learningRate: num(options.learningRate),
          correction: options.correction as 'bias' | 'bigram' | undefined,
          draftLength: num(options.draftLength),
          temperature: num(options.temperature),
        }),
      };
    },
  },
  s2d: {
    description: 'S2D: one shared draft serving several nested targets (here the full target; needs --draft-model; lossless)',
    keys: ['draftLength', 'temperature'],
    async create(options, environment) {
      const draft = await secondModel(environment);
      return { strategy: s2d({ draft, draftLength: num(options.draftLength), temperature: num(options.temperature) }).strategy() };
    },
  },
  'beam-search': {
    description: 'beam search over forked sequences; streams the best hypothesis',
    keys: ['numBeams', 'lengthPenalty', 'earlyStopping'],
    create: async options => ({
      strategy: beamSearch({
        numBeams: num(options.numBeams) ?? 4,
        lengthPenalty: num(options.lengthPenalty),
        earlyStopping: options.earlyStopping as boolean | 'never' | undefined,
      }),
    }),
  },
  'diverse-beam-search': {
    description: 'diverse beam search (groups with Hamming diversity); streams the best hypothesis',
    keys: ['numBeams', 'numGroups', 'diversityPenalty', 'lengthPenalty'],
    create: async options => ({
      strategy: diverseBeamSearch({
        numBeams: num(options.numBeams) ?? 4,
        numGroups: num(options.numGroups) ?? 4,
        diversityPenalty: num(options.diversityPenalty) ?? 0.5,
        lengthPenalty: num(options.lengthPenalty),
      }),
    }),
  },
  'momentum-decoding': {
    description: 'momentum decoding: resist revisiting n-grams (a processor)',
    keys: ['alpha'],
    create: async options => ({ processors: [momentumDecoding({ alpha: num(options.alpha) ?? 0.2 })] }),
  },
  'superposed-decoding': {
    description: 'superposed decoding: k drafts from one forward per step (n-grams of 200 self-sampled stories); streams the best draft',
    keys: ['numDrafts', 'alpha'],
    async create(options, environment) {
      const alpha = num(options.alpha) ?? 0.54;
      const ngrams = alpha > 0 ? ngramModel(await defaultSuperposedCorpus(environment.model)) : undefined;
      return { strategy: superposedStrategy({ numDrafts: num(options.numDrafts) ?? 3, alpha, ngrams }) };
    },
  },
  'contrastive-decoding': {
    description: 'contrastive decoding: expert minus amateur (amateur = --draft-model, default llama2xs)',
    keys: ['alpha', 'beta'],
    async create(options, environment) {
      const amateur = await secondModel(environment, 'llama2xs');
      return { model: contrastiveDecoding({ expert: environment.model, amateur, alpha: num(options.alpha), beta: num(options.beta) }) };
    },
  },
};
registry.autoregressive = registry.ar;
registry.greedy = registry.ar;

/** Names `--strategy` accepts. */
export function strategyNames(): string[] {
  return Object.keys(registry);
}

/** The registry, for help texts. */
export function describeStrategies(): { name: string; description: string; keys: readonly string[] }[] {
  return Object.entries(registry).map(([name, entry]) => ({ name, description: entry.description, keys: entry.keys }));
}

/** Builds a decoder setup from a `NAME[:key=value,...]` spec. */
export async function buildSetup(spec: string, environment: StrategyEnvironment): Promise<DecoderSetup> {
  const { name, options } = parseStrategySpec(spec);
  const entry = registry[name];
  if (!entry) {
    throw new InvalidArgumentError({ argument: '--strategy', message: `unknown strategy "${name}"; known: ${strategyNames().join(', ')}.` });
  }
  for (const key of Object.keys(options)) {
    if (!entry.keys.includes(key)) {
      throw new InvalidArgumentError({
        argument: '--strategy',
        message: `"${name}" has no option "${key}"; it accepts: ${entry.keys.join(', ') || '(none)'}.`,
      });
    }
  }
  return { name: spec, ...(await entry.create(options, environment)) };
}

/** Builds a speed strategy (no processors, no wrapped model), as `bench` needs. */
export async function buildStrategy(spec: string, environment: StrategyEnvironment): Promise<Strategy> {
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
export function decoderFor(setup: DecoderSetup, model: LoadedModel, extraProcessors: LogitsProcessor<any>[] = []): Decoder {
  let decoder = createDecoder({
    model: setup.model ?? model,
    tokenizer: model.tokenizer,
    processors: [...extraProcessors, ...(setup.processors ?? [])],
  });
  if (setup.strategy) decoder = decoder.use(setup.strategy);
  return decoder;
}
