/**
 * Mask cost and speculative speedup of constrained decoding. Run from the repository root:
 *   DECODEKIT_MODELS=../shared/models npx tsx packages/strategies/constrained/bench/mask-cost.ts
 * (needs the workspace packages built: pnpm build). Prints the numbers the README reports.
 */
import {
  createDecoder,
  seededRandom,
  speculative,
  type LogitsProcessor,
  type Tokenizer,
} from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { jsonSchema, type ConstraintProcessor } from '../src/index.js';

const schema = {
  type: 'object',
  properties: {
    title: { type: 'string', maxLength: 40 },
    characters: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          age: { type: 'integer', minimum: 0, maximum: 120 },
        },
        required: ['name', 'age'],
      },
      maxItems: 4,
    },
    happy: { type: 'boolean' },
    rating: { type: 'number', minimum: 0, maximum: 5 },
  },
  required: ['title', 'characters', 'happy'],
};

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const now = (): number => performance.now();

/** Random walk through a constraint; returns µs per token of allowedTokens (mask) on the first and second pass. */
function walkCost(
  processor: ConstraintProcessor,
  tokenizer: Tokenizer,
  seeds: number,
): { coldMicros: number; warmMicros: number; tokens: number } {
  const pass = (): { micros: number; tokens: number } => {
    let micros = 0;
    let tokens = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const random = seededRandom(seed);
      let state = processor.init([]);
      for (;;) {
        const start = now();
        const allowed = processor.allowedTokens(state);
        micros += (now() - start) * 1000;
        tokens += 1;
        const choices = allowed.filter(id => !tokenizer.eosTokenIds.includes(id));
        if (choices.length < allowed.length && (choices.length === 0 || random.next() < 0.3)) break;
        state = processor.advance(state, choices[Math.floor(random.next() * choices.length)]);
      }
    }
    return { micros: micros / tokens, tokens };
  };
  const cold = pass();
  const warm = pass();
  return { coldMicros: cold.micros, warmMicros: warm.micros, tokens: cold.tokens };
}

/** A synthetic 32,000-token vocabulary: EOS, 256 byte tokens, then random word pieces, digits and JSON fragments. */
function syntheticTokenizer(size = 32_000): Tokenizer {
  const random = seededRandom(42);
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const pieces = new Set<string>();
  const fragments = [
    '{"',
    '":',
    '","',
    '"}',
    '},{"',
    '":"',
    '":[',
    '],"',
    'true',
    'false',
    'null',
    ',"',
    '[{"',
  ];
  for (const fragment of fragments) pieces.add(fragment);
  for (let d = 0; d < 1000; d++) pieces.add(String(d));
  while (pieces.size < size - 257) {
    const length = 2 + Math.floor(random.next() * 7);
    let piece = random.next() < 0.5 ? ' ' : '';
    for (let i = 0; i < length; i++)
      piece += letters[Math.floor(letters.length * random.next() ** 1.5)];
    if (random.next() < 0.1) piece = piece[0].toUpperCase() + piece.slice(1);
    pieces.add(piece);
  }
  const encoder = new TextEncoder();
  const vocab: (Uint8Array | undefined)[] = [
    undefined,
    ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
    ...[...pieces].map(p => encoder.encode(p)),
  ];
  return {
    vocabSize: vocab.length,
    eosTokenIds: [0],
    encode: () => [],
    decode: ids =>
      new TextDecoder().decode(Uint8Array.from(ids.flatMap(id => [...(vocab[id] ?? [])]))),
    idToToken: id => (id === 0 ? '</s>' : String(id)),
    tokenBytes: id => vocab[id],
    applyChatTemplate: () => '',
  };
}

function timed<T>(processor: LogitsProcessor<T>, sink: number[]): LogitsProcessor<T> {
  return {
    ...processor,
    process(logits, state) {
      const start = now();
      processor.process(logits, state);
      sink.push((now() - start) * 1000);
    },
  };
}

async function main(): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const tokenizer = model.tokenizer;

  let start = now();
  const small = jsonSchema(schema, { tokenizer, maxTokens: 128 });
  const compileSmall = now() - start;
  const smallWalk = walkCost(small, tokenizer, 20);
  const big = syntheticTokenizer();
  start = now();
  const large = jsonSchema(schema, { tokenizer: big, maxTokens: 128 });
  const compileLarge = now() - start;
  const largeWalk = walkCost(large, big, 20);
  console.log(
    `vocab ${tokenizer.vocabSize}: compile ${compileSmall.toFixed(1)} ms; mask per token cold ${smallWalk.coldMicros.toFixed(1)} µs, warm ${smallWalk.warmMicros.toFixed(2)} µs (${smallWalk.tokens} tokens)`,
  );
  console.log(
    `vocab ${big.vocabSize}: compile ${compileLarge.toFixed(1)} ms; mask per token cold ${largeWalk.coldMicros.toFixed(1)} µs, warm ${largeWalk.warmMicros.toFixed(2)} µs (${largeWalk.tokens} tokens)`,
  );

  // Processor cost inside real generation (mask + logits copy), and TR vs AR speed.
  const prompts = [
    'Once upon a time',
    'Lily and Ben',
    'The little dog',
    'One day, a girl named Sue',
    'Tom had a big red ball',
  ];
  const drafter = tokenRecycling();
  const rounds: { ar: number; tr: number; tau: number }[] = [];
  const processMicros: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const prompt of prompts) {
      const constraint = timed(jsonSchema(schema, { tokenizer, maxTokens: 128 }), processMicros);
      const ar = await createDecoder({ model })
        .use(constraint)
        .generate(prompt, { maxTokens: 128, temperature: 0 });
      const tr = await createDecoder({ model })
        .use(constraint)
        .use(speculative({ drafter, budget: 16 }))
        .generate(prompt, { maxTokens: 128, temperature: 0 });
      if (tr.text !== ar.text) throw new Error('speculation changed the output');
      if (round > 0)
        rounds.push({
          ar: ar.stats.tokensPerSecond,
          tr: tr.stats.tokensPerSecond,
          tau: tr.stats.meanAcceptedTokens,
        });
    }
  }
  const arSpeed = median(rounds.map(r => r.ar));
  const trSpeed = median(rounds.map(r => r.tr));
  console.log(
    `stories260K processor.process per call: median ${median(processMicros).toFixed(1)} µs`,
  );
  console.log(
    `AR + jsonSchema ${arSpeed.toFixed(0)} tok/s; token-recycling + jsonSchema ${trSpeed.toFixed(0)} tok/s (τ = ${median(rounds.map(r => r.tau)).toFixed(2)}); speedup ${(trSpeed / arSpeed).toFixed(2)}×`,
  );
  await model.dispose();
}

await main();
