import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AbortedError,
  BackendError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
} from '@decodekit/core';
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from '@decodekit/models';
import type {
  FineTuneLlamaOptions,
  FineTuneLlamaResult,
  TfLlamaConfig,
  TfLlamaWeights,
} from './llama-tf.js';
import { checkLoopOptions, type TrainProgress } from './training-loop.js';
import { evaluateLud, prepareLud, type TrainLudOptions, type TrainLudResult } from './train-lud.js';
import { useTrainBackend, type TrainBackend } from './tf-backend.js';
import type { Dataset } from './dataset.js';
import {
  checkPairs,
  checkSpladeOptions,
  type SpladePair,
  type TrainSpladeOptions,
  type TrainSpladeResult,
} from './train-splade.js';

/**
 * The PyTorch side of the bridge (`packages/train/torch/decodekit_train.py`, shipped with the package): the same
 * path from `src/` (tests) and from the bundled `dist/`.
 */
export const TORCH_SCRIPT = fileURLToPath(new URL('../torch/decodekit_train.py', import.meta.url));

/** How a PyTorch run is started. */
export interface TorchRunOptions {
  /**
   * The Python interpreter that has PyTorch. Default: `$DECODEKIT_PYTHON`, else the first of `python3`, `python`
   * that imports torch.
   */
  python?: string;
  /**
   * CPU threads PyTorch uses. Default 1: a model of this project's size gains little from more, and on a shared
   * machine PyTorch's threads wait on each other at every small op (here a 2-thread hyperfitting run made 195
   * tokens/s beside two other jobs, the same job on 1 thread 6,600–13,100).
   */
  threads?: number;
  /** Stops the run (the Python process is killed) and rejects with `AbortedError`. */
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
}

/** Options of the PyTorch runs: a loop's options without the TensorFlow.js backend and its checkpoints. */
type TorchLoop<T> = Omit<T, 'backend' | 'checkpoint' | 'checkpointEvery' | 'onProgress'> &
  TorchRunOptions & {
    /** Clips the global gradient norm before each Adam step (none by default, as the TensorFlow.js loop). */
    clipGradNorm?: number;
  };

/** Options of {@link fineTuneLlamaTorch}. */
export type FineTuneLlamaTorchOptions = TorchLoop<FineTuneLlamaOptions>;
/** Options of {@link trainSpladeTorch}. */
export type TrainSpladeTorchOptions = TorchLoop<TrainSpladeOptions> & {
  /** Train the classifier apart from the embedding table (the result is an untied checkpoint). Default false. */
  untie?: boolean;
};
/** Options of {@link trainLudTorch}. */
export type TrainLudTorchOptions = TorchLoop<TrainLudOptions> & {
  /**
   * TensorFlow.js backend of the held-out numbers (`evaluateLud`). Default 'wasm': the pure-JS 'cpu' backend
   * took over ten minutes for 480 held-out sequences of 96 tokens here.
   */
  evaluationBackend?: TrainBackend;
};

const checked = new Map<string, string | undefined>();

/** The PyTorch version `python` imports, or undefined when it cannot (cached per interpreter). */
function torchVersion(python: string): string | undefined {
  if (!checked.has(python)) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    checked.set(python, probe.status === 0 ? probe.stdout.trim() : undefined);
  }
  return checked.get(python);
}

/**
 * The Python interpreter PyTorch runs are started with, and its PyTorch version; undefined when none of the
 * candidates (`$DECODEKIT_PYTHON`, else `python3` and `python`) imports torch.
 */
export function findTorch(python?: string): { python: string; version: string } | undefined {
  const candidates = python
    ? [python]
    : process.env.DECODEKIT_PYTHON
      ? [process.env.DECODEKIT_PYTHON]
      : ['python3', 'python'];
  for (const candidate of candidates) {
    const version = torchVersion(candidate);
    if (version) return { python: candidate, version };
  }
  return undefined;
}

/**
 * The interpreter PyTorch runs are started with (see {@link findTorch}); callers check it before long
 * preparation (dataset or pair generation) so a missing PyTorch fails at once.
 * @throws UnsupportedCapabilityError that says how to install PyTorch and point `DECODEKIT_PYTHON` at it
 */
export function requireTorch(python?: string): string {
  const found = findTorch(python);
  if (!found) {
    throw new UnsupportedCapabilityError({
      capability: 'training',
      backendId: 'torch',
      hint: `No Python with PyTorch found (tried ${python ?? process.env.DECODEKIT_PYTHON ?? 'python3, python'}). Install PyTorch (Debian: apt-get install python3-torch) and point DECODEKIT_PYTHON at that interpreter (e.g. /usr/bin/python3), or train with the wasm backend.`,
    });
  }
  return found.python;
}

interface DoneEvent {
  event: 'done';
  losses?: { step: number; loss: number }[];
  positionsPerSecond?: number;
  logits?: number[];
}

/** One line of the script's stdout. */
type TorchEvent = ({ event: 'progress' } & TrainProgress) | DoneEvent;

/**
 * Runs one job of the PyTorch script: writes the starting weights as a llama2.c checkpoint and the job as JSON to
 * a temporary folder (with `files`, named in the job's `files`), streams progress, and returns the final event with
 * the tuned weights read back.
 */
async function runTorchJob(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  job: Record<string, unknown>,
  options: TorchRunOptions,
  files: Record<string, Uint8Array> = {},
): Promise<{ done: DoneEvent; weights?: TfLlamaWeights; config: TfLlamaConfig }> {
  const python = requireTorch(options.python);
  if (options.signal?.aborted) throw new AbortedError({ reason: options.signal.reason });
  const folder = mkdtempSync(join(tmpdir(), 'decodekit-torch-'));
  try {
    const input = join(folder, 'start.bin');
    const output = join(folder, 'tuned.bin');
    writeFileSync(input, writeLlama2cCheckpoint({ config, weights }));
    // Bulk inputs (float32 tables) travel as files beside the job, named in `job.files`.
    const paths = Object.fromEntries(
      Object.entries(files).map(([name, bytes]) => {
        const path = join(folder, `${name}.bin`);
        writeFileSync(path, bytes);
        return [name, path];
      }),
    );
    writeFileSync(
      join(folder, 'job.json'),
      JSON.stringify({
        ...job,
        files: paths,
        weights: input,
        output,
        ropeTheta: config.ropeTheta ?? 10000,
        rmsNormEps: config.rmsNormEps ?? 1e-5,
        threads: options.threads ?? 1,
      }),
    );
    const done = await new Promise<DoneEvent>((resolve, reject) => {
      const child = spawn(python, [TORCH_SCRIPT, join(folder, 'job.json')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let pending = '';
      let result: DoneEvent | undefined;
      const onAbort = () => child.kill('SIGTERM');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-4000);
      });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (!line.trim()) continue;
          let event: TorchEvent;
          try {
            event = JSON.parse(line) as TorchEvent;
          } catch {
            stderr = (stderr + line + '\n').slice(-4000); // not an event: keep it for the error message
            continue;
          }
          if (event.event === 'progress') {
            options.onProgress?.({
              step: event.step,
              steps: event.steps,
              loss: event.loss,
              positionsPerSecond: event.positionsPerSecond,
            });
          } else if (event.event === 'done') result = event;
        }
      });
      child.on('error', error =>
        reject(
          new BackendError({
            message: `could not start ${python}: ${error.message}`,
            cause: error,
          }),
        ),
      );
      child.on('close', code => {
        options.signal?.removeEventListener('abort', onAbort);
        if (options.signal?.aborted) reject(new AbortedError({ reason: options.signal.reason }));
        else if (code !== 0 || !result)
          reject(
            new BackendError({
              message: `PyTorch training (${python} ${TORCH_SCRIPT}) exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`,
            }),
          );
        else resolve(result);
      });
    });
    if (job.task === 'parity') return { done, config };
    const tuned = readLlama2cCheckpoint(new Uint8Array(readFileSync(output)), output);
    const tunedConfig: TfLlamaConfig = { ...config, tiedEmbeddings: tuned.config.tiedEmbeddings };
    return { done, config: tunedConfig, weights: tuned.weights as TfLlamaWeights };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** `steps`, or `ceil(epochs × samples / batchSize)` when `epochs` is given (as the TensorFlow.js trainers). */
function stepsOf(
  options: { steps: number; epochs?: number; batchSize: number },
  samples: number,
): number {
  return options.epochs === undefined
    ? options.steps
    : Math.ceil((options.epochs * samples) / options.batchSize);
}

/** The loss curve and speed of a finished run. */
function curveOf(done: DoneEvent): {
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
} {
  return { losses: done.losses ?? [], positionsPerSecond: done.positionsPerSecond ?? 0 };
}

function checkTorchOptions(options: TorchLoop<FineTuneLlamaOptions>): void {
  checkLoopOptions({ ...options, backend: 'cpu' });
  if (options.clipGradNorm !== undefined && !(options.clipGradNorm > 0))
    throw new InvalidArgumentError({
      argument: 'clipGradNorm',
      message: `must be a positive number, got ${options.clipGradNorm}.`,
    });
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0))
    throw new InvalidArgumentError({
      argument: 'threads',
      message: `must be a positive integer, got ${options.threads}.`,
    });
}

function loopJob(options: TorchLoop<FineTuneLlamaOptions>, steps: number): Record<string, unknown> {
  return {
    steps,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    schedule: options.schedule ?? 'constant',
    seed: options.seed,
    logEvery: options.logEvery ?? 25,
    clipGradNorm: options.clipGradNorm,
  };
}

/**
 * `fineTuneLlama` in PyTorch: the same next-token cross-entropy over whole sequences, Adam (β 0.9 / 0.999) and
 * learning-rate schedule, run by `packages/train/torch/decodekit_train.py` on the CPU — about 20× the
 * TensorFlow.js wasm backend's speed on this project's 2-core machine, which is what millions of training
 * tokens need (hyperfitting). Deterministic by seed for one machine and thread count; the batch order is
 * PyTorch-side, so the curve is not the wasm run's.
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param sequences training sequences (token ids, each ≥ 2 tokens, ≤ the context length)
 * @param options loop options, the interpreter and threads
 * @throws UnsupportedCapabilityError when no Python with PyTorch is found (the message says how to get one)
 */
export async function fineTuneLlamaTorch(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  options: FineTuneLlamaTorchOptions,
): Promise<FineTuneLlamaResult> {
  const steps = stepsOf(options, sequences.length);
  checkTorchOptions({ ...options, steps });
  if (
    sequences.length === 0 ||
    sequences.some(
      s =>
        s.length < 2 ||
        s.length > config.contextLength ||
        s.some(id => !Number.isInteger(id) || id < 0 || id >= config.vocabSize),
    )
  ) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: `need at least one sequence of 2 to ${config.contextLength} token ids in [0, ${config.vocabSize}).`,
    });
  }
  const { done, weights: tuned } = await runTorchJob(
    config,
    weights,
    { task: 'finetune', samples: sequences, ...loopJob(options, steps) },
    options,
  );
  return { weights: tuned as TfLlamaWeights, ...curveOf(done) };
}

/**
 * `trainSplade` (full fine-tuning, `trainable: 'all'`) in PyTorch: the same pooling (echo, BOS, context cut),
 * in-batch contrastive loss with hard negatives, FLOPS / L1 regularisers and their warm-up, Adam. With
 * `untie: true` the classifier is trained apart from the embedding table (the result is an untied checkpoint).
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param pairs training pairs
 * @param options loop options, regularisers, the interpreter and threads
 * @throws UnsupportedCapabilityError when no Python with PyTorch is found
 */
export async function trainSpladeTorch(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  pairs: readonly SpladePair[],
  options: TrainSpladeTorchOptions,
): Promise<TrainSpladeResult> {
  const steps = stepsOf(options, pairs.length);
  checkTorchOptions({ ...options, steps });
  checkSpladeOptions(options);
  if ((options.trainable ?? 'all') !== 'all' || (options.headInit ?? 'model') !== 'model') {
    throw new InvalidArgumentError({
      argument: 'trainable',
      message: `the torch backend trains the whole model (trainable 'all', headInit 'model'); use the wasm backend for the head alone.`,
    });
  }
  checkPairs(pairs, config);
  const {
    done,
    weights: tuned,
    config: tunedConfig,
  } = await runTorchJob(
    config,
    weights,
    {
      task: 'splade',
      samples: pairs,
      ...loopJob(options, steps),
      echo: options.echo ?? true,
      bosTokenId: options.bosTokenId === undefined ? 1 : options.bosTokenId,
      flopsQuery: options.flopsQuery ?? 1e-3,
      flopsDocument: options.flopsDocument ?? 1e-3,
      l1Query: options.l1Query ?? 0,
      regularizerWarmupSteps: options.regularizerWarmupSteps ?? 0,
      untie: options.untie ?? false,
    },
    options,
  );
  return { config: tunedConfig, weights: tuned as TfLlamaWeights, ...curveOf(done) };
}

/**
 * `trainLud` in PyTorch: the same lexical units, layouts (`prepareLud`: each placeholder row's parent, RoPE
 * position = its depth, attention to its ancestors only), loss (soft next-token cross-entropy of the real rows
 * against the base model's distribution + `placeholderWeight` × the placeholder rows' cross-entropy) and Adam,
 * run by `packages/train/torch/decodekit_train.py`; the held-out numbers are `trainLud`'s (`evaluateLud`, scored
 * by the TensorFlow.js model, `evaluationBackend`). Deterministic by seed for one machine and thread count; the
 * batch order is PyTorch-side, so the curve is not the wasm run's.
 * @param dataset the target's generations (`generateDataset`) with its hidden states
 * @param lmHead the target's LM head `[vocab, hidden]`
 * @param target the target's llama2.c config and weights (the starting point; not modified)
 * @param options loop options, the LUD recipe, the interpreter and threads
 * @throws UnsupportedCapabilityError when no Python with PyTorch is found
 */
export async function trainLudTorch(
  dataset: Dataset,
  lmHead: Float32Array,
  target: { config: TfLlamaConfig; weights: TfLlamaWeights },
  options: TrainLudTorchOptions,
): Promise<TrainLudResult> {
  const { config } = target;
  // The loop options first (a bad one fails before the units are marked), then the steps `epochs` sets.
  checkTorchOptions({ ...options, steps: options.epochs === undefined ? options.steps : 1 });
  const prepared = prepareLud(dataset, lmHead, config, { ...options, backend: 'cpu' });
  checkTorchOptions({ ...options, steps: prepared.steps });
  const { train, trainLayouts } = prepared;
  const samples = trainLayouts.map((layout, i) => ({
    tokens: Array.from(layout.tokens),
    parents: Array.from(layout.parents),
    labels: Array.from(layout.labels, (label, r) => (layout.hasLabel[r] ? label : -100)),
    real: dataset.offsets[train[0] + i + 1] - dataset.offsets[train[0] + i],
    hiddenStart: dataset.offsets[train[0] + i],
  }));
  const bytes = (values: Float32Array) =>
    new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const { done, weights: tuned } = await runTorchJob(
    config,
    target.weights,
    {
      task: 'lud',
      samples,
      ...loopJob(options, prepared.steps),
      vocab: config.vocabSize,
      placeholderWeight: prepared.placeholderWeight,
    },
    options,
    { hidden: bytes(dataset.hidden), lmHead: bytes(lmHead) },
  );
  const weights = tuned as TfLlamaWeights;
  await useTrainBackend(options.evaluationBackend ?? 'wasm');
  return {
    weights,
    ...curveOf(done),
    units: prepared.units,
    heldOut: evaluateLud(dataset, prepared, target, weights),
  };
}

/**
 * Logits `[tokens, vocab]` of one causal chain (or tree layout, `parents`) through the PyTorch model: what the
 * parity tests compare with the other implementations of the architecture.
 */
export async function llamaLogitsTorch(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  tokens: readonly number[],
  options: Pick<TorchRunOptions, 'python' | 'threads'> & {
    /** A tree layout instead of the chain: each row's parent row (-1: none), as `TfLlamaLayout.parents`. */
    parents?: ArrayLike<number>;
  } = {},
): Promise<Float32Array> {
  const { parents } = options;
  if (
    parents !== undefined &&
    (parents.length !== tokens.length ||
      Array.from(parents).some(
        (parent, r) => !Number.isInteger(parent) || parent < -1 || parent >= r,
      ))
  )
    throw new InvalidArgumentError({
      argument: 'parents',
      message: `must give each of the ${tokens.length} rows an earlier row or -1.`,
    });
  const job = parents === undefined ? {} : { parents: Array.from(parents) };
  const { done } = await runTorchJob(config, weights, { task: 'parity', tokens, ...job }, options);
  return Float32Array.from(done.logits ?? []);
}
