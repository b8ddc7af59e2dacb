import { delimiter, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { runSeq2SeqConformance } from '@decodekit/conformance';
import { seq2seqReferenceModel } from '@decodekit/models';
import { fixtureFolders } from '@decodekit/models/testing';
import { beamSearch } from './index.js';

// Beam search forks the decoder sequence per beam: on an encoder-decoder model every fork shares the one
// encoding (and its cross-attention cache).
const fixtures = fixtureFolders({
  // eslint-disable-next-line no-process-env -- test fixture: the offline mirror
  modelsRoot: resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models'),
  prefix: 'decodekit-beam-search-seq2seq-',
});
const backend = createCpuBackend();
const sources = [
  [1, 5, 9, 14, 3],
  [1, 20, 21, 22, 23, 24, 25, 26],
  [1, 30, 4, 30, 4, 30, 4],
];
const deterministic = 'beam search is a deterministic search; it does not sample';

runSeq2SeqConformance({
  name: 'beam-search (numBeams 1)',
  strategy: () => beamSearch({ numBeams: 1 }),
  model: () => backend.load(fixtures.seq2seq({ seed: 21 }).folder),
  sources,
  skip: { 'o-dist': deterministic },
});
runSeq2SeqConformance({
  name: 'beam-search (numBeams 4)',
  strategy: () => beamSearch({ numBeams: 4, numReturnSequences: 4 }),
  model: () => backend.load(fixtures.seq2seq({ seed: 21 }).folder),
  sources,
  skip: {
    'o-greedy':
      'four beams find other outputs than greedy decoding; checked against the reference below',
    'o-dist': deterministic,
  },
});

describe('beam search on an encoder-decoder model', () => {
  it('four beams on ONNX Runtime find the hypotheses of the pure-JS reference model', async () => {
    const fixture = fixtures.seq2seq({ seed: 21 });
    const model = await backend.load(fixture.folder);
    const reference = seq2seqReferenceModel(fixture.config, fixture.weights);
    const strategy = () => beamSearch({ numBeams: 4, numReturnSequences: 4 });
    for (const source of sources) {
      const options = { maxTokens: 16, temperature: 0 };
      const onnx = await createDecoder({ model })
        .use(strategy())
        .search({ tokens: source }, options);
      const expected = await createDecoder({ model: reference })
        .use(strategy())
        .search({ tokens: source }, options);
      expect(onnx.hypotheses.map(hypothesis => hypothesis.tokens)).toEqual(
        expected.hypotheses.map(hypothesis => hypothesis.tokens),
      );
      expect(onnx.hypotheses).toHaveLength(4);
      for (const [index, hypothesis] of onnx.hypotheses.entries())
        expect(hypothesis.score).toBeCloseTo(expected.hypotheses[index].score, 3);
    }
    await model.dispose();
  });
});
