/**
 * Soak: many mixed generations in one process — every lossless strategy, constraints, penalties, stop
 * strings, aborts at random points, models disposed and reloaded at every checkpoint — with every output
 * checked against autoregressive decoding at T = 0, ONNX Runtime sessions, live sequences and live tensors
 * counted, and RSS reported at each checkpoint (growth after warm-up must stay under 10%).
 *
 * CI runs 100 generations (a checkpoint every 10). `pnpm soak` runs 1,000 (a checkpoint every 100):
 * DECODEKIT_SOAK_GENERATIONS=1000.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AbortedError,
  createDecoder,
  createTokenizer,
  repetitionPenalty,
  seededRandom,
  type CausalLM,
  type GenerateOptions,
  type LoadedModel,
  type LogitsProcessor,
  type Sequence,
  type Strategy,
} from '@decodekit/core';
import {
  createOnnxBackend,
  loadModel,
  readModelFolder,
  type OrtRuntime,
} from '@decodekit/backend-onnx';
import { regex } from '@decodekit/strategy-constrained';
import { assert, describe, expect, it } from 'vitest';
import {
  LOSSLESS_STRATEGY_NAMES,
  losslessStrategies,
  type LosslessStrategyName,
} from './__fixtures__/lossless-strategies.js';

const GENERATIONS = Number(process.env.DECODEKIT_SOAK_GENERATIONS ?? 100);
const CHECKPOINT = GENERATIONS >= 1000 ? 100 : Math.max(1, Math.floor(GENERATIONS / 10));

const prompts = readFileSync(resolve(__dirname, '../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => (JSON.parse(line) as { prompt: string }).prompt);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** ONNX Runtime objects alive right now, counted at the runtime's API. */
const live = { sessions: 0, tensors: 0, sequences: 0 };
const tensorRegistry = new FinalizationRegistry<void>(() => void live.tensors--);
function trackTensor(tensor: object): void {
  live.tensors++;
  tensorRegistry.register(tensor);
}

/** onnxruntime-node, with every session and tensor it hands out counted. */
async function countingRuntime(): Promise<OrtRuntime> {
  const ort = (await import('onnxruntime-node')) as unknown as OrtRuntime;
  const Tensor = class extends (ort.Tensor as unknown as new (...args: unknown[]) => object) {
    constructor(...args: unknown[]) {
      super(...args);
      trackTensor(this);
    }
  } as unknown as OrtRuntime['Tensor'];
  return {
    Tensor,
    InferenceSession: {
      async create(model: Uint8Array | string, options?: object) {
        const session = await ort.InferenceSession.create(model as never, options as never);
        live.sessions++;
        let released = false;
        return {
          get inputNames() {
            return session.inputNames;
          },
          get outputNames() {
            return session.outputNames;
          },
          get inputMetadata() {
            return session.inputMetadata;
          },
          get outputMetadata() {
            return session.outputMetadata;
          },
          async run(feeds, fetches) {
            const outputs = await session.run(feeds, fetches);
            for (const tensor of Object.values(outputs)) trackTensor(tensor);
            return outputs;
          },
          async release() {
            if (!released) live.sessions--;
            released = true;
            await session.release();
          },
        };
      },
    } as OrtRuntime['InferenceSession'],
  };
}

/** A model whose sequences (forks included) are counted while alive. */
function countingModel<TModel extends CausalLM>(model: TModel): TModel {
  const wrap = (inner: Sequence): Sequence => {
    live.sequences++;
    let disposed = false;
    return {
      get tokens() {
        return inner.tokens;
      },
      forward: (input, options) => inner.forward(input, options),
      commit: rows => inner.commit(rows),
      truncate: length => inner.truncate(length),
      fork: () => wrap(inner.fork()),
      dispose() {
        if (!disposed) live.sequences--;
        disposed = true;
        inner.dispose();
      },
    };
  };
  return {
    ...model,
    info: model.info,
    capabilities: model.capabilities,
    createSequence: () => wrap(model.createSequence()),
    dispose: () => model.dispose(),
  };
}

/** What varies between generations, drawn from a seeded generator. */
interface Mix {
  strategy: LosslessStrategyName;
  prompt: number;
  maxTokens: number;
  penalty: 'none' | 'repetition' | 'presence' | 'no-repeat-ngram' | 'processor';
  stop: boolean;
  constraint: boolean;
  /** Abort after this many streamed tokens, 0 = before the prefill (undefined: run to the end). */
  abortAfter?: number;
}

function options(mix: Mix): GenerateOptions {
  return {
    maxTokens: mix.maxTokens,
    temperature: 0,
    ...(mix.penalty === 'repetition' ? { repetitionPenalty: 1.3 } : {}),
    ...(mix.penalty === 'presence' ? { presencePenalty: 0.8, frequencyPenalty: 0.2 } : {}),
    ...(mix.penalty === 'no-repeat-ngram' ? { noRepeatNgramSize: 3 } : {}),
    ...(mix.stop ? { stop: ['.', '!'] } : {}),
  };
}

function processors(mix: Mix, model: LoadedModel): LogitsProcessor<unknown>[] {
  const list: LogitsProcessor<unknown>[] = [];
  if (mix.penalty === 'processor') list.push(repetitionPenalty(1.15));
  if (mix.constraint)
    list.push(
      regex('( ?[a-z]+){1,40}[.!]', { tokenizer: model.tokenizer, maxTokens: mix.maxTokens }),
    );
  return list;
}

describe(`soak: ${GENERATIONS} mixed generations in one process`, () => {
  it(
    'outputs stay equal to AR, nothing leaks, RSS stays flat after warm-up',
    async () => {
      const random = seededRandom(2026);
      const backend = createOnnxBackend({
        id: 'onnx-cpu-counted',
        loadRuntime: countingRuntime,
        sessionOptions: {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
        },
        readSource: readModelFolder,
        acceptsPath: true,
        createTokenizer,
        inputEmbeddings: true,
      });
      // Resolve (convert into the cache) once; every load after that goes through the counted backend.
      const folderOf = async (ref: string) => {
        const model = await loadModel(ref);
        await model.dispose();
        return model.source;
      };
      const targetFolder = await folderOf('karpathy/tinyllamas/stories260K');
      const draftFolder = await folderOf('llama2xs');

      let target!: LoadedModel;
      let draft!: LoadedModel;
      let factories!: Record<LosslessStrategyName, () => Strategy>;
      let instances = new Map<LosslessStrategyName, Strategy>();
      const references = new Map<string, { tokens: number[]; text: string; reason: string }>();
      /** ADED's tri-gram store documents: AR outputs, made once. */
      const documents: number[][] = [];
      const load = async () => {
        target = countingModel(await backend.load(targetFolder));
        draft = countingModel(await backend.load(draftFolder));
        if (documents.length === 0) {
          for (const prompt of prompts.slice(20, 24)) {
            const { tokens, promptTokens } = await createDecoder({ model: target }).generate(
              prompt,
              { maxTokens: 64 },
            );
            documents.push([...promptTokens, ...tokens]);
          }
        }
        factories = losslessStrategies({ draft, adedDocuments: documents });
        // One instance per strategy until the next reload: drafter state carries over, as in a long-lived decoder.
        instances = new Map(LOSSLESS_STRATEGY_NAMES.map(name => [name, factories[name]()]));
      };
      const unload = async () => {
        instances.clear();
        await target.dispose();
        await draft.dispose();
      };

      const rows: {
        generations: number;
        rssMiB: number;
        heapMiB: number;
        sessions: number;
        sequences: number;
        tensors: number;
        aborted: number;
        mismatches: number;
      }[] = [];
      let aborted = 0;
      const mismatches: string[] = [];
      await load();
      for (let index = 0; index < GENERATIONS; index++) {
        const mix: Mix = {
          strategy: LOSSLESS_STRATEGY_NAMES[index % LOSSLESS_STRATEGY_NAMES.length],
          prompt: Math.floor(random.next() * prompts.length),
          maxTokens: [16, 32, 48][Math.floor(random.next() * 3)],
          penalty: (
            ['none', 'none', 'repetition', 'presence', 'no-repeat-ngram', 'processor'] as const
          )[Math.floor(random.next() * 6)],
          stop: random.next() < 0.3,
          constraint: random.next() < 0.15,
          abortAfter: random.next() < 0.15 ? Math.floor(random.next() * 20) : undefined,
        };
        const key = JSON.stringify({ ...mix, strategy: undefined, abortAfter: undefined });
        let reference = references.get(key);
        if (!reference) {
          const decoder = createDecoder({ model: target, processors: processors(mix, target) });
          const result = await decoder.generate(prompts[mix.prompt], options(mix));
          reference = { tokens: result.tokens, text: result.text, reason: result.reason };
          references.set(key, reference);
        }
        const strategy = instances.get(mix.strategy);
        assert(strategy, `no instance of ${mix.strategy}`);
        const decoder = createDecoder({ model: target, processors: processors(mix, target) }).use(
          strategy,
        );
        const controller = new AbortController();
        // abortAfter 0: the signal is already aborted when the generation starts (before the prefill).
        if (mix.abortAfter === 0) controller.abort('soak, before the prefill');
        const tokens: number[] = [];
        let done: { tokens: number[]; text: string; reason: string } | undefined;
        try {
          for await (const event of decoder.stream(prompts[mix.prompt], {
            ...options(mix),
            signal: controller.signal,
          })) {
            if (event.type === 'token') {
              tokens.push(event.tokenId);
              if (mix.abortAfter !== undefined && tokens.length === mix.abortAfter)
                controller.abort('soak');
            }
            if (event.type === 'done') done = event;
          }
        } catch (error) {
          if (!AbortedError.isInstance(error)) throw error;
          aborted++;
        }
        const label = `#${index} ${mix.strategy} ${key}`;
        if (done) {
          if (
            JSON.stringify(done.tokens) !== JSON.stringify(reference.tokens) ||
            done.text !== reference.text ||
            done.reason !== reference.reason
          ) {
            mismatches.push(
              `${label}: ${JSON.stringify(done.tokens)} vs AR ${JSON.stringify(reference.tokens)}`,
            );
          }
        } else if (
          JSON.stringify(tokens) !== JSON.stringify(reference.tokens.slice(0, tokens.length))
        ) {
          mismatches.push(`${label} (aborted): streamed tokens are not a prefix of AR's`);
        }
        // Between generations no sequence may stay alive but the drafters' own (one per draft-model drafter).
        if (live.sequences > LOSSLESS_STRATEGY_NAMES.length)
          mismatches.push(`${label}: ${live.sequences} live sequences`);

        if ((index + 1) % CHECKPOINT === 0) {
          await unload();
          const sequencesAfterDispose = live.sequences;
          const sessionsAfterDispose = live.sessions;
          for (let round = 0; round < 3; round++) {
            gc();
            await new Promise(resolve => setTimeout(resolve, 10));
          }
          const memory = process.memoryUsage();
          rows.push({
            generations: index + 1,
            rssMiB: +(memory.rss / 2 ** 20).toFixed(1),
            heapMiB: +(memory.heapUsed / 2 ** 20).toFixed(1),
            sessions: sessionsAfterDispose,
            sequences: sequencesAfterDispose,
            tensors: live.tensors,
            aborted,
            mismatches: mismatches.length,
          });
          if (index + 1 < GENERATIONS) await load();
        }
      }
      console.table(rows);
      expect(mismatches, mismatches.slice(0, 5).join('\n')).toEqual([]);
      expect(aborted).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.sessions, `sessions after dispose at ${row.generations}`).toBe(0);
        expect(row.sequences, `sequences after dispose at ${row.generations}`).toBe(0);
      }
      // Tensors: after every model is disposed and the heap collected, what stays alive must not grow.
      const warm = rows[Math.min(2, rows.length - 1)];
      for (const row of rows.slice(3)) {
        expect(row.tensors, `live tensors at ${row.generations}`).toBeLessThanOrEqual(
          warm.tensors + 8,
        );
        expect(
          row.rssMiB / warm.rssMiB,
          `RSS at ${row.generations} vs ${warm.generations}`,
        ).toBeLessThan(1.1);
      }
    },
    Math.max(120_000, GENERATIONS * 1_000),
  );
});
