import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  compressStream,
  decompressStream,
  readCompressedHeader,
  type CodecProgress,
  type ModelIdentity,
} from '@decodekit/compress';
import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { number } from './option-parsers.js';

/** `--backend` names of the backends that can write a header's `backendId`. */
const BACKEND_BY_ID: Readonly<Record<string, string>> = {
  'onnx-cpu': 'cpu',
  'onnx-wasm': 'wasm',
  'onnx-webgpu': 'webgpu',
  'onnx-cuda': 'cuda',
};

/** Suffix `decodekit compress` appends and `decodekit decompress` strips. */
export const COMPRESSED_SUFFIX = '.dkz';

/**
 * What identifies a loaded model folder: sha256 (first 16 hex digits) of its ONNX graph and tokenizer.json,
 * and config.json's `torch_dtype`. Models not loaded from a folder get an empty revision.
 */
export function folderIdentity(model: LoadedModel): ModelIdentity {
  const files = ['onnx/model.onnx', 'tokenizer.json'].map(file => join(model.source, file));
  if (!files.every(file => existsSync(file))) return { modelId: model.info.name };
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  let dtype = '';
  try {
    const config = JSON.parse(readFileSync(join(model.source, 'config.json'), 'utf8')) as {
      torch_dtype?: unknown;
    };
    if (typeof config.torch_dtype === 'string') dtype = config.torch_dtype;
  } catch {
    // no readable config.json: no dtype to record
  }
  return { modelId: model.info.name, revision: hash.digest('hex').slice(0, 16), dtype };
}

/** The first `length` bytes of a file (or all of it). */
function readPrefix(file: string, length: number): Uint8Array {
  const descriptor = openSync(file, 'r');
  try {
    const buffer = new Uint8Array(length);
    return buffer.subarray(0, readSync(descriptor, buffer, 0, length, 0));
  } finally {
    closeSync(descriptor);
  }
}

function inputSize(file: string): number {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    throw new InvalidArgumentError({ argument: 'FILE', message: `"${file}" does not exist.` });
  }
  if (!stats.isFile())
    throw new InvalidArgumentError({ argument: 'FILE', message: `"${file}" is not a file.` });
  return stats.size;
}

/** A cli-progress bar on stderr (drawn only on a TTY) over `total` bytes, with speed and bits per byte. */
function progressBar(
  label: string,
  total: number,
): { update: (done: number, bitsPerByte?: number) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {speed} KiB/s | {ratio} bits/byte`,
      hideCursor: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { speed: '0.00', ratio: '-' });
  return {
    update: (done, bitsPerByte) =>
      bar.update(done, {
        speed: (done / 1024 / Math.max(1e-3, (performance.now() - started) / 1000)).toFixed(2),
        ratio: bitsPerByte === undefined ? '-' : bitsPerByte.toFixed(3),
      }),
    stop: () => bar.stop(),
  };
}

/** Writes a stream to `output` through a temporary file, so a failure never leaves a partial output. */
async function writeAtomically(output: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const partial = `${output}.partial`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(partial));
    renameSync(partial, output);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

function summary(
  verb: string,
  file: string,
  output: string,
  plain: number,
  packed: number,
  started: number,
): string {
  const seconds = (performance.now() - started) / 1000;
  const bitsPerByte = plain > 0 ? ((8 * packed) / plain).toFixed(3) : '-';
  return `${verb} ${file} -> ${output}: ${plain} bytes <-> ${packed} bytes (${bitsPerByte} bits/byte), ${seconds.toFixed(1)} s, ${(plain / 1024 / Math.max(seconds, 1e-3)).toFixed(2)} KiB/s\n`;
}

/** `decodekit compress FILE -o OUT` and `decodekit decompress FILE -o OUT`. */
export function registerCompress(program: Command): void {
  program
    .command('compress <file>')
    .description(
      'Compress a file losslessly with a language model (arithmetic coding; @decodekit/compress).',
    )
    .option('-o, --output <file>', `output file (default: FILE${COMPRESSED_SUFFIX})`)
    .option('--model <ref>', 'model that predicts the text', DEFAULT_MODEL)
    .option(
      '--backend <name>',
      'cpu | wasm | webgpu | cuda[:N] (decompress on the same one)',
      'cpu',
    )
    .option(
      '--precision <bits>',
      'log2 of the quantized probability total (8..24)',
      number('--precision'),
      16,
    )
    .option(
      '--window-bits <bits>',
      'Equal-Info Windows of this many bits (off by default)',
      number('--window-bits'),
    )
    .option(
      '--block-bytes <n>',
      'input bytes per independently checked block',
      number('--block-bytes'),
      16384,
    )
    .option('--no-match-model', 'use the language model alone (no match model for repeats)')
    .action(async (file: string, options) => {
      const total = inputSize(file);
      const output: string = options.output ?? `${file}${COMPRESSED_SUFFIX}`;
      const model = await loadForCli(options.model, options.backend);
      const bar = progressBar('compress', total);
      const started = performance.now();
      let packed = 0;
      try {
        const chunks = compressStream(createReadStream(file, { highWaterMark: 1 << 16 }), {
          model,
          tokenizer: model.tokenizer,
          identity: folderIdentity(model),
          precision: options.precision,
          windowBits: options.windowBits,
          blockBytes: options.blockBytes,
          matchModel: options.matchModel,
          onProgress: ({ plainBytes, compressedBytes }: CodecProgress) =>
            bar.update(plainBytes, plainBytes > 0 ? (8 * compressedBytes) / plainBytes : undefined),
        });
        await writeAtomically(
          output,
          counted(chunks, bytes => (packed += bytes)),
        );
      } finally {
        bar.stop();
        await model.dispose();
      }
      process.stderr.write(summary('compressed', file, output, total, packed, started));
    });

  program
    .command('decompress <file>')
    .description(
      'Decompress a file written by `decodekit compress` (with the model it names, or --model).',
    )
    .option(
      '-o, --output <file>',
      `output file (default: FILE without ${COMPRESSED_SUFFIX}, else FILE.out)`,
    )
    .option(
      '--model <ref>',
      'model to decompress with (default: the model id recorded in the file)',
    )
    .option(
      '--backend <name>',
      'cpu | wasm | webgpu | cuda[:N] (default: the one recorded in the file)',
    )
    .action(async (file: string, options) => {
      const packedSize = inputSize(file);
      const header = await readCompressedHeader(readPrefix(file, 4096));
      const output: string =
        options.output ??
        (file.endsWith(COMPRESSED_SUFFIX)
          ? file.slice(0, -COMPRESSED_SUFFIX.length)
          : `${file}.out`);
      const backend: string = options.backend ?? BACKEND_BY_ID[header.backendId] ?? 'cpu';
      const model = await loadForCli(options.model ?? header.modelId, backend);
      // Progress is over compressed bytes read, the only size known before decoding.
      const bar = progressBar('decompress', packedSize);
      const started = performance.now();
      let plain = 0;
      try {
        const identity = folderIdentity(model);
        const chunks = decompressStream(createReadStream(file, { highWaterMark: 1 << 16 }), {
          model,
          tokenizer: model.tokenizer,
          // Checked against the header: the revision when both sides have one, else the model id.
          identity: {
            ...identity,
            modelId: options.model === undefined ? header.modelId : identity.modelId,
          },
          onProgress: ({ plainBytes, compressedBytes }: CodecProgress) =>
            bar.update(
              compressedBytes,
              plainBytes > 0 ? (8 * compressedBytes) / plainBytes : undefined,
            ),
        });
        await writeAtomically(
          output,
          counted(chunks, bytes => (plain += bytes)),
        );
      } finally {
        bar.stop();
        await model.dispose();
      }
      process.stderr.write(summary('decompressed', file, output, plain, packedSize, started));
    });
}

async function* counted(
  chunks: AsyncIterable<Uint8Array>,
  add: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    add(chunk.length);
    yield chunk;
  }
}
