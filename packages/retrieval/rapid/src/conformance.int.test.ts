import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { rapidDrafter, rapidTransferVerifier } from './index.js';

// Small chunks so that bench prompts (~40-150 tokens) really are shortened for the draft.
runStrategyConformance({
  name: 'rapid (self-speculation on the RAG context)',
  strategy: () =>
    speculative({ drafter: rapidDrafter({ chunkTokens: 8, topChunks: 2, recentTokens: 16 }) }),
});

// The O-dist prompt has 3 tokens: keep 1 chunk of 1 token and 1 recent token, so the draft really sees a
// shortened context (q differs from the target's p).
runStrategyConformance({
  name: 'rapid (sampled drafts, speculative sampling)',
  strategy: () =>
    speculative({
      drafter: rapidDrafter({
        keepPrefix: 0,
        chunkTokens: 1,
        topChunks: 1,
        recentTokens: 1,
        temperature: 0.8,
      }),
    }),
  skip: {
    'o-greedy-real':
      'sampled drafts only matter at T > 0; the greedy variant above covers the real model',
    'o-greedy-real-processors': 'as above',
  },
});

runStrategyConformance({
  name: 'rapid (transfer verifier, m = 0: exact speculative sampling)',
  strategy: () =>
    speculative({
      drafter: rapidDrafter({
        keepPrefix: 0,
        chunkTokens: 1,
        topChunks: 1,
        recentTokens: 1,
        temperature: 0.8,
      }),
      verifier: rapidTransferVerifier({ margin: 0 }),
    }),
  skip: {
    'o-greedy-real': 'greedy falls back to the exact verifier; covered by the first block',
    'o-greedy-real-processors': 'as above',
  },
});
