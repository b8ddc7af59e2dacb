/**
 * Test-only model folders, built at test time into a temp dir: stories260K converted from the shared
 * llama2.c checkpoint, and its plain (`--plain`) twin. Not exported.
 */
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTinyModel } from '@decodekit/models';
import { fixtureFolders } from '@decodekit/models/testing';
import type { Tokenizer } from '@decodekit/core';

/** Root of the reference models (the offline mirror; tests point DECODEKIT_MODELS at ../shared/models). */
// eslint-disable-next-line no-process-env -- test fixture
export const MODELS_ROOT = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? fileURLToPath(new URL('../../../../../shared/models', import.meta.url)),
);

const fixtures = fixtureFolders({ modelsRoot: MODELS_ROOT, prefix: 'decodekit-backend-onnx-' });
const folders = new Map<string, string>();

/** Writes `files` (relative path → content) into a fresh folder under the suite's temp dir. */
export const writeFolder = fixtures.write;

/** stories260K as a model folder (converted once per test process). */
export const stories260KFolder = fixtures.stories260K;

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
export const stories260KGolden = fixtures.stories260KGolden;

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
