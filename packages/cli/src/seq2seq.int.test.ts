/**
 * `decodekit generate --model <seq2seq folder>` on the builder-made tiny encoder-decoder (optimum's
 * layout): greedy ids equal the pure-JS reference forward's, and search and speculative strategies run.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '@decodekit/backend-onnx';
import { seq2seqReference } from '@decodekit/models';
import { fixtureFolders, startLocalHub } from '@decodekit/models/testing';
import { createProgram } from './program.js';

const fixtures = fixtureFolders({
  // eslint-disable-next-line no-process-env -- test fixture: the offline mirror
  modelsRoot: resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models'),
  prefix: 'decodekit-cli-seq2seq-',
});

interface JsonResult {
  text: string;
  completion: string;
  tokens: number[];
  stats: { encoderCalls?: number };
  hypotheses: { tokens: number[] }[];
}

async function generate(folder: string, args: string[]): Promise<JsonResult> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    await createProgram().parseAsync([
      'node',
      'decodekit',
      'generate',
      '--model',
      folder,
      '--format',
      'json',
      ...args,
    ]);
  } finally {
    process.stdout.write = write;
  }
  return JSON.parse(out) as JsonResult;
}

describe('decodekit generate on an encoder-decoder folder', () => {
  it('greedy equals the reference forward; beam search and prompt-lookup run with one encoder call', async () => {
    const fixture = fixtures.seq2seq({ seed: 21, tok512: true });
    const reference = seq2seqReference(fixture.config, fixture.weights);
    const prompt = 'translate: the little dog';
    const model = await loadModel(fixture.folder);
    const source = model.tokenizer.encode(prompt);
    await model.dispose();
    const expected = reference.greedy(source, 20);
    expect(expected.length).toBeGreaterThan(4);
    const greedy = await generate(fixture.folder, ['--prompt', prompt, '--max-tokens', '20']);
    expect(greedy.tokens).toEqual(expected);
    // The output does not continue the prompt: it is printed alone.
    expect(greedy.text).toBe(greedy.completion);
    expect(greedy.stats.encoderCalls).toBe(1);
    const lookup = await generate(fixture.folder, [
      '--prompt',
      prompt,
      '--max-tokens',
      '20',
      '--strategy',
      'prompt-lookup',
    ]);
    expect(lookup.tokens).toEqual(expected);
    const beams = await generate(fixture.folder, [
      '--prompt',
      prompt,
      '--max-tokens',
      '20',
      '--strategy',
      'beam-search:numBeams=3,numReturnSequences=3',
    ]);
    expect(beams.hypotheses).toHaveLength(3);
    expect(beams.stats.encoderCalls).toBe(1);
  });

  it('a hub id of a seq2seq export downloads the encoder of the requested dtype beside the decoder', async () => {
    const fixture = fixtures.seq2seq({ seed: 21, tok512: true });
    const prompt = 'translate: the little dog';
    const expected = await generate(fixture.folder, ['--prompt', prompt, '--max-tokens', '20']);
    // Publish the folder's graphs under q4 names; the fp32 names hold bytes no loader can read.
    const files: Record<string, Uint8Array | string> = {};
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) visit(path);
        else {
          const name = relative(fixture.folder, path).split(sep).join('/');
          const published = name.endsWith('.onnx') ? name.replace(/\.onnx$/, '_q4.onnx') : name;
          files[published] = new Uint8Array(readFileSync(path));
          if (name.endsWith('.onnx')) files[name] = `not the q4 graph: ${name}`;
        }
      }
    };
    visit(fixture.folder);
    const hub = await startLocalHub({ 'test-org/tiny-seq2seq': { files } });
    const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-seq2seq-hub-'));
    const saved = {
      HF_ENDPOINT: process.env.HF_ENDPOINT,
      DECODEKIT_CACHE: process.env.DECODEKIT_CACHE,
    };
    process.env.HF_ENDPOINT = hub.endpoint;
    process.env.DECODEKIT_CACHE = join(work, 'cache');
    try {
      const out = await generate('test-org/tiny-seq2seq', [
        '--dtype',
        'q4',
        '--prompt',
        prompt,
        '--max-tokens',
        '20',
      ]);
      expect(out.tokens).toEqual(expected.tokens);
      expect(out.stats.encoderCalls).toBe(1);
      const graphs = hub.requests
        .filter(request => /\/resolve\/[0-9a-f]{40}\/onnx\//.test(request.path))
        .map(request => request.path.split('/').pop())
        .sort();
      expect(graphs.every(name => name?.endsWith('_q4.onnx'))).toBe(true);
      expect(graphs).toContain('encoder_model_q4.onnx');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await hub.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
