/**
 * Bounded local load test of `decodekit serve` (not part of the test suite):
 *   DECODEKIT_MODELS="$(cd .. && pwd)/shared/models" pnpm --filter @decodekit/server load-test -- --clients 50 --seconds 60
 * Starts a server on 127.0.0.1 with stories260K (default queue: concurrency 1, 32 waiting), runs N streaming
 * chat clients in a closed loop for the given time (a refused client waits as Retry-After says), and
 * prints time to first token (p50/p99), tokens/s, the 429 count and the deepest queue seen.
 */
import { loadModel } from '@decodekit/backend-onnx';
import OpenAI from 'openai';
import { parseArgs } from 'node:util';
import { createServer } from '../src/index.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter(arg => arg !== '--'), // pnpm passes the separator through
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    'max-tokens': { type: 'string', default: '64' },
    'max-queue': { type: 'string', default: '32' },
    concurrency: { type: 'string', default: '1' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const maxTokens = Number(values['max-tokens']);

const model = await loadModel('karpathy/tinyllamas/stories260K');
const server = await createServer({
  models: { stories260K: model },
  maxQueued: Number(values['max-queue']),
  concurrency: Number(values.concurrency),
});
const url = await server.listen({ host: '127.0.0.1', port: 0 });
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

const firstTokenMs: number[] = [];
const requestMs: number[] = [];
let completionTokens = 0;
let ok = 0;
let refused = 0;
let failed = 0;
let deepestQueue = 0;
let peakRss = 0;
const sampler = setInterval(() => {
  deepestQueue = Math.max(deepestQueue, server.queue.queued);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

const deadline = performance.now() + seconds * 1000;
const prompts = [
  'Once upon a time',
  'Tom had a red ball.',
  'The little cat was sad.',
  'Lily went to the park.',
];

async function runClient(id: number): Promise<void> {
  for (let turn = 0; performance.now() < deadline; turn++) {
    const started = performance.now();
    try {
      const stream = await client.chat.completions.create({
        model: 'stories260K',
        messages: [{ role: 'user', content: prompts[(id + turn) % prompts.length] }],
        max_tokens: maxTokens,
        temperature: 0.8,
        seed: id * 1000 + turn,
        stream: true,
        stream_options: { include_usage: true },
      });
      let first: number | undefined;
      for await (const chunk of stream) {
        if (first === undefined && chunk.choices[0]?.delta.content)
          first = performance.now() - started;
        if (chunk.usage) completionTokens += chunk.usage.completion_tokens;
      }
      if (first !== undefined) firstTokenMs.push(first);
      requestMs.push(performance.now() - started);
      ok++;
    } catch (error) {
      if (error instanceof OpenAI.APIError && error.status === 429) {
        refused++;
        const retryAfter = Number(error.headers?.get('retry-after') ?? 1);
        await new Promise(resolve => setTimeout(resolve, retryAfter * 1000));
      } else {
        failed++;
        console.error(error);
      }
    }
  }
}

const wall = performance.now();
await Promise.all(Array.from({ length: clients }, (_, id) => runClient(id)));
const elapsed = (performance.now() - wall) / 1000;
clearInterval(sampler);
const metrics = await (await fetch(`${url}/metrics`)).text();
await server.close();
await model.dispose();

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const tauLine =
  /decodekit_mean_accepted_tokens_sum\{[^}]*\} ([\d.]+)\n.*decodekit_mean_accepted_tokens_count\{[^}]*\} (\d+)/s.exec(
    metrics,
  );
const rows: [string, string][] = [
  ['clients (streaming, closed loop)', String(clients)],
  ['duration', `${elapsed.toFixed(1)} s`],
  ['server', `concurrency ${server.queue.concurrency}, queue ${server.queue.maxQueued}`],
  ['requests completed', String(ok)],
  ['requests refused (429)', String(refused)],
  ['other failures', String(failed)],
  ['time to first token p50', `${percentile(firstTokenMs, 50).toFixed(1)} ms`],
  ['time to first token p99', `${percentile(firstTokenMs, 99).toFixed(1)} ms`],
  [
    'request latency p50 / p99',
    `${percentile(requestMs, 50).toFixed(0)} / ${percentile(requestMs, 99).toFixed(0)} ms`,
  ],
  ['generated tokens', String(completionTokens)],
  ['throughput', `${(completionTokens / elapsed).toFixed(0)} tok/s`],
  [
    'τ (mean accepted tokens)',
    tauLine ? (Number(tauLine[1]) / Number(tauLine[2])).toFixed(2) : 'n/a',
  ],
  ['deepest queue seen', `${deepestQueue} (limit ${server.queue.maxQueued})`],
  ['peak RSS', `${(peakRss / 2 ** 20).toFixed(0)} MiB`],
];
console.log('| measure | value |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
