import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DecodeStats } from '@decodekit/core';

/** The server's Prometheus metrics, in their own registry (several servers may share a process). */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts one answered HTTP request. */
  request(endpoint: string, status: number): void;
  /** Records one finished generation (one choice). */
  generation(model: string, strategy: string, stats: DecodeStats): void;
  /** Records the time from a request's arrival to its first generated token. */
  firstToken(model: string, seconds: number): void;
}

/** Creates the metrics; `queue` is read at scrape time. */
export function createMetrics(queue: {
  readonly queued: number;
  readonly active: number;
  readonly maxQueued: number;
}): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'decodekit_process_' });
  const requests = new Counter({
    name: 'decodekit_http_requests_total',
    help: 'HTTP requests answered, by endpoint and status code (429 = refused because the queue was full).',
    labelNames: ['endpoint', 'status'],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'decodekit_generated_tokens_total',
    help: 'Tokens generated (EOS included).',
    labelNames: ['model', 'strategy'],
    registers: [registry],
  });
  const decodeSeconds = new Counter({
    name: 'decodekit_decode_seconds_total',
    help: 'Seconds spent decoding after the prefill; rate(tokens) / rate(this) is the decode speed.',
    labelNames: ['model', 'strategy'],
    registers: [registry],
  });
  const tokensPerSecond = new Histogram({
    name: 'decodekit_tokens_per_second',
    help: 'Decode speed of each generation (generated tokens per second of decode time).',
    labelNames: ['model', 'strategy'],
    buckets: [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  });
  const tau = new Histogram({
    name: 'decodekit_mean_accepted_tokens',
    help: 'τ of each generation: tokens emitted per decode-time target forward (1 for autoregressive decoding).',
    labelNames: ['model', 'strategy'],
    buckets: [1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 8],
    registers: [registry],
  });
  const firstToken = new Histogram({
    name: 'decodekit_time_to_first_token_seconds',
    help: 'Seconds from a request arriving (queueing included) to its first generated token.',
    labelNames: ['model'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'decodekit_queue_depth',
    help: 'Requests waiting for a decoding slot.',
    registers: [registry],
    collect() {
      this.set(queue.queued);
    },
  });
  new Gauge({
    name: 'decodekit_queue_capacity',
    help: 'Most requests that may wait; one more is refused with 429.',
    registers: [registry],
    collect() {
      this.set(queue.maxQueued);
    },
  });
  new Gauge({
    name: 'decodekit_active_requests',
    help: 'Requests decoding now.',
    registers: [registry],
    collect() {
      this.set(queue.active);
    },
  });
  return {
    registry,
    request: (endpoint, status) => requests.inc({ endpoint, status: String(status) }),
    generation(model, strategy, stats) {
      tokens.inc({ model, strategy }, stats.generatedTokens);
      decodeSeconds.inc({ model, strategy }, stats.decodeMs / 1000);
      if (stats.generatedTokens > 1 && Number.isFinite(stats.tokensPerSecond))
        tokensPerSecond.observe({ model, strategy }, stats.tokensPerSecond);
      if (Number.isFinite(stats.meanAcceptedTokens) && stats.meanAcceptedTokens > 0)
        tau.observe({ model, strategy }, stats.meanAcceptedTokens);
    },
    firstToken: (model, seconds) => firstToken.observe({ model }, seconds),
  };
}
