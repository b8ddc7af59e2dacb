// Bits per byte of @decodekit/compress (stories260K) against gzip -9, brotli (quality 11) and xz -9e, and its
// throughput, on the bench texts and on held-out stories written by the model.
// `npx vitest run --config packages/compress/measure.config.ts packages/compress/scripts/compression.measure.ts`
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { expect, it } from 'vitest';
import {
  buildAlphabet,
  bytesToSymbols,
  compress,
  decompress,
  type CompressOptions,
} from '../src/index.js';

// eslint-disable-next-line no-process-env -- script: the offline mirror sits beside the bench texts
const mirror = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const benchFolder = existsSync(join(mirror, '..', 'bench'))
  ? join(mirror, '..', 'bench')
  : resolve('bench');

function xzSize(bytes: Uint8Array): number | undefined {
  const result = spawnSync('xz', ['-9e', '-c', '-T1'], { input: bytes, maxBuffer: 1 << 30 });
  return result.status === 0 ? result.stdout.length : undefined;
}

const bpb = (size: number | undefined, original: number) =>
  size === undefined ? 'n/a' : ((8 * size) / original).toFixed(3);

async function heldOutStories(model: LoadedModel): Promise<string> {
  // Sampled at temperature 1 with seeds never used elsewhere; the prompts are story openings, not bench prompts.
  const decoder = createDecoder({ model });
  const openings = [
    'Once upon a time',
    'One day',
    'There was a',
    'Lily and Ben',
    'The little bird',
  ];
  const stories: string[] = [];
  for (const [i, opening] of openings.entries()) {
    for (const seed of [4242, 4243]) {
      const { text } = await decoder.generate(opening, {
        maxTokens: 256,
        temperature: 1,
        seed: seed + 10 * i,
      });
      stories.push(`${opening}${text}`.trim());
    }
  }
  return `${stories.join('\n\n')}\n`;
}

it('compression table', async () => {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const prompts = (file: string) =>
    readFileSync(join(benchFolder, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => (JSON.parse(line) as { prompt: string }).prompt);
  const texts: [string, Uint8Array][] = [
    ['bench/stories.jsonl', new Uint8Array(readFileSync(join(benchFolder, 'stories.jsonl')))],
    ['bench/grounded.jsonl', new Uint8Array(readFileSync(join(benchFolder, 'grounded.jsonl')))],
    [
      'stories.jsonl prompts (prose)',
      new TextEncoder().encode(`${prompts('stories.jsonl').join('\n')}\n`),
    ],
    [
      'grounded.jsonl prompts (prose)',
      new TextEncoder().encode(`${prompts('grounded.jsonl').join('\n\n')}\n`),
    ],
    ['10 held-out generated stories', new TextEncoder().encode(await heldOutStories(model))],
  ];
  const configurations: [string, Partial<CompressOptions>][] = [
    ['LM + match model (default)', {}],
    ['LM only', { matchModel: false }],
    ['Equal-Info Windows, 64 bits', { windowBits: 64, precision: 14, matchModel: false }],
  ];
  const alphabet = buildAlphabet(model.tokenizer, model.info.vocabSize);
  // The ceiling: the same one-row forwards with no coding at all.
  const sequence = model.createSequence();
  const forwardStarted = performance.now();
  for (let i = 0; i < 500; i++) {
    await sequence.forward({ tokens: Int32Array.of(i === 0 ? 1 : 300 + (i % 100)) });
    sequence.commit([0]);
  }
  const forwardsPerSecond = 500 / ((performance.now() - forwardStarted) / 1000);
  sequence.dispose();
  const xzMissing = xzSize(new Uint8Array([1])) === undefined;
  const lines = [
    '| text | bytes | gzip -9 | brotli q11 | xz -9e | ' +
      configurations.map(([name]) => name).join(' | ') +
      ' |',
    '|---|---:|---:|---:|---:|' + configurations.map(() => '---:').join('|') + '|',
  ];
  const speed: string[] = [];
  for (const [name, bytes] of texts) {
    const gzip = gzipSync(bytes, { level: 9 }).length;
    const brotli = brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length;
    const xz = xzSize(bytes);
    const tokens = bytesToSymbols(bytes, alphabet, model.tokenizer).symbols.length;
    const cells: string[] = [];
    for (const [configuration, extra] of configurations) {
      const options = { model, tokenizer: model.tokenizer, ...extra };
      const started = performance.now();
      const packed = await compress(bytes, options);
      const compressMs = performance.now() - started;
      const decompressStarted = performance.now();
      const restored = await decompress(packed, options);
      const decompressMs = performance.now() - decompressStarted;
      expect(Buffer.from(restored).equals(Buffer.from(bytes))).toBe(true);
      cells.push(`${bpb(packed.length, bytes.length)} (${packed.length} B)`);
      speed.push(
        `| ${name} | ${configuration} | ${tokens} | ${(bytes.length / 1024 / (compressMs / 1000)).toFixed(2)} | ${(bytes.length / 1024 / (decompressMs / 1000)).toFixed(2)} | ${((1000 * tokens) / decompressMs).toFixed(0)} |`,
      );
    }
    lines.push(
      `| ${name} | ${bytes.length} | ${bpb(gzip, bytes.length)} (${gzip} B) | ${bpb(brotli, bytes.length)} (${brotli} B) | ${xz === undefined ? 'n/a' : `${bpb(xz, bytes.length)} (${xz} B)`} | ${cells.join(' | ')} |`,
    );
  }
  await model.dispose();
  console.log(
    `Bits per byte (compressed size incl. headers); stories260K on ${model.capabilities.backendId}.\n`,
  );
  console.log(lines.join('\n'));
  if (xzMissing)
    console.log('\nxz: not installed here (apt-get install xz-utils); its column is n/a.');
  console.log(
    `\nThroughput (one CPU thread). Bare one-row forwards, no coding: ${forwardsPerSecond.toFixed(0)} per second.\n`,
  );
  console.log(
    [
      '| text | configuration | tokens | compress KiB/s | decompress KiB/s | decompress tokens/s |',
      '|---|---|---:|---:|---:|---:|',
      ...speed,
    ].join('\n'),
  );
});
