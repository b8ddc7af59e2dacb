import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { convertLlama2c } from './convert-llama2c.js';
import { buildSeq2SeqModel, type Seq2SeqModel, type Seq2SeqModelOptions } from './seq2seq-model.js';

/** Options of {@link fixtureFolders}. */
export interface FixtureFoldersOptions {
  /**
   * The offline models mirror (what `DECODEKIT_MODELS` points at): it holds
   * `karpathy/tinyllamas/stories260K/{stories260K.bin,tok512.bin}` and `golden/golden_stories260K_greedy.json`.
   */
  readonly modelsRoot: string;
  /** Prefix of the temp folder the fixtures are written to, e.g. `decodekit-backend-onnx-`. */
  readonly prefix: string;
}

/** Model folders for tests, written under one temp folder made on first use. See {@link fixtureFolders}. */
export interface FixtureFolders {
  /** Writes `files` (relative path → content) into the folder `name`; returns its path. */
  write(name: string, files: Readonly<Record<string, string | Uint8Array>>): string;
  /** stories260K converted from the mirror's llama2.c checkpoint (`plain`: the `--plain` export), once each. */
  stories260K(options?: { readonly plain?: boolean }): string;
  /** llama2.c's greedy ids of stories260K for "Once upon a time" (the mirror's golden file). */
  stories260KGolden(): { promptIds: number[]; generatedIds: number[] };
  /**
   * A builder-made tiny encoder-decoder folder (`buildSeq2SeqModel`, optimum's seq2seq layout), written once
   * per options; `tok512` uses the mirror's stories260K tokenizer (byte fallback: every text is reachable)
   * instead of the generated character vocabulary. Returns the folder and the model's config and weights
   * (for `seq2seqReference`).
   */
  seq2seq(
    options?: Omit<Seq2SeqModelOptions, 'tokenizer'> & { readonly tok512?: boolean },
  ): Seq2SeqModel & { folder: string };
}

/**
 * Test model folders from the offline mirror, shared by the backend packages' tests: the reference model
 * stories260K converted into a temp folder (full and plain), its llama2.c golden, and any folder a test
 * writes itself. Conversions are cached per process; the mirror itself is only read. Node only.
 */
export function fixtureFolders({ modelsRoot, prefix }: FixtureFoldersOptions): FixtureFolders {
  if (typeof modelsRoot !== 'string' || modelsRoot.length === 0) {
    throw new InvalidArgumentError({
      argument: 'modelsRoot',
      message: 'must be the path of the models mirror (set DECODEKIT_MODELS to ../shared/models).',
    });
  }
  let root: string | undefined;
  const converted = new Map<string, string>();
  const write: FixtureFolders['write'] = (name, files) => {
    root ??= mkdtempSync(join(tmpdir(), prefix));
    const folder = join(root, name);
    for (const [relative, content] of Object.entries(files)) {
      const path = join(folder, relative);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    return folder;
  };
  return {
    write,
    stories260K({ plain = false } = {}) {
      const key = `stories260K${plain ? '-plain' : ''}`;
      const cached = converted.get(key);
      if (cached !== undefined) return cached;
      const source = join(modelsRoot, 'karpathy', 'tinyllamas', 'stories260K');
      const { files } = convertLlama2c({
        checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
        tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
        plain,
        name: 'karpathy/tinyllamas/stories260K',
      });
      const folder = write(key, files);
      converted.set(key, folder);
      return folder;
    },
    seq2seq({ tok512 = false, ...options } = { seed: 21 }) {
      const key = `seq2seq-${JSON.stringify({ tok512, ...options })}`;
      const tokenizer = tok512
        ? new Uint8Array(
            readFileSync(join(modelsRoot, 'karpathy', 'tinyllamas', 'stories260K', 'tok512.bin')),
          )
        : undefined;
      const model = buildSeq2SeqModel({ ...options, ...(tokenizer ? { tokenizer } : {}) });
      const cached = converted.get(key);
      const folder = cached ?? write(key.replace(/[^a-z0-9-]+/gi, '_'), model.files);
      converted.set(key, folder);
      return { ...model, folder };
    },
    stories260KGolden() {
      const path = join(modelsRoot, 'golden', 'golden_stories260K_greedy.json');
      const golden = JSON.parse(readFileSync(path, 'utf8')) as Record<
        string,
        { prompt_ids: number[]; generated_ids: number[] }
      >;
      const entry = golden['Once upon a time'];
      return { promptIds: entry.prompt_ids, generatedIds: entry.generated_ids };
    },
  };
}
