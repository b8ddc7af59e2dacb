/**
 * Test-only model folders, built at test time into a temp dir: stories260K converted from the shared
 * llama2.c checkpoint, and its plain (`--plain`) twin. Not exported.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTinyModel, convertLlama2c } from '@decodekit/models';
import type { Tokenizer } from '@decodekit/core';

/** Root of the reference models (the offline mirror; tests point DECODEKIT_MODELS at ../shared/models). */
// eslint-disable-next-line no-process-env -- test fixture
export const MODELS_ROOT = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? fileURLToPath(new URL('../../../../../shared/models', import.meta.url)),
);

let root: string | undefined;
const folders = new Map<string, string>();

/** Writes `files` (relative path → content) into a fresh folder under the suite's temp dir. */
export function writeFolder(
  name: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): string {
  root ??= mkdtempSync(join(tmpdir(), 'decodekit-backend-onnx-'));
  const folder = join(root, name);
  for (const [relative, content] of Object.entries(files)) {
    const path = join(folder, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return folder;
}

/** stories260K as a model folder (converted once per test process). */
export function stories260KFolder({ plain = false }: { plain?: boolean } = {}): string {
  const key = `stories260K${plain ? '-plain' : ''}`;
  const cached = folders.get(key);
  if (cached) return cached;
  const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
    plain,
    name: 'karpathy/tinyllamas/stories260K',
  });
  const folder = writeFolder(key, files);
  folders.set(key, folder);
  return folder;
}

/** A seeded tiny random Llama (2 layers, 4 heads, 2 KV heads, vocab 48) as a model folder. */
export function tinyModelFolder({
  plain = false,
  seed = 7,
}: { plain?: boolean; seed?: number } = {}): string {
  const key = `tiny-${seed}${plain ? '-plain' : ''}`;
  const cached = folders.get(key);
  if (cached) return cached;
  const { files } = buildTinyModel({
    seed,
    plain,
    vocabSize: 48,
    dim: 32,
    heads: 4,
    kvHeads: 2,
    contextLength: 64,
  });
  const folder = writeFolder(key, files);
  folders.set(key, folder);
  return folder;
}

/** The greedy golden of stories260K for "Once upon a time". */
export function stories260KGolden(): { promptIds: number[]; generatedIds: number[] } {
  const golden = JSON.parse(
    readFileSync(join(MODELS_ROOT, 'golden', 'golden_stories260K_greedy.json'), 'utf8'),
  );
  const entry = golden['Once upon a time'];
  return { promptIds: entry.prompt_ids, generatedIds: entry.generated_ids };
}

/** A tokenizer that only knows its vocabulary size: the backend checks never encode text. */
export function stubTokenizerFactory({
  tokenizerJson,
  eosTokenIds = [],
}: {
  tokenizerJson: Readonly<Record<string, unknown>>;
  eosTokenIds?: readonly number[];
}): Tokenizer {
  const vocab =
    (tokenizerJson.model as { vocab?: Record<string, number> } | undefined)?.vocab ?? {};
  const vocabSize = Object.keys(vocab).length;
  const unsupported = () => {
    throw new Error('stub tokenizer');
  };
  return {
    vocabSize,
    eosTokenIds,
    encode: unsupported,
    decode: unsupported,
    idToToken: () => undefined,
    tokenBytes: () => undefined,
    applyChatTemplate: unsupported,
  };
}

/** A third-party export from ../shared/fixtures/hf-exports (next to the models mirror), read-only. */
export function hfExportFolder(name: string): string {
  return join(MODELS_ROOT, '..', 'fixtures', 'hf-exports', name);
}
