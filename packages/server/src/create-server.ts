import { randomInt, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  AbortedError,
  ContextLengthError,
  DecodingError,
  InvalidArgumentError,
  resolveGenerateOptions,
  type FinishReason,
  type GenerateOptions,
  type LoadedModel,
  type StrategyDescriptor,
} from '@decodekit/core';
import {
  JSON_TOOL_CALL_FORMAT,
  outputConstraint,
  readToolCalls,
  toolCallStream,
  type JsonSchema,
  type OutputFormat,
  type ToolAnswerDelta,
  type ToolChoice,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { toChatMessages } from './chat-prompt.js';
import { QueueFullError, ServerClosingError } from './errors.js';
import type { TokenLogprob } from './logprob-recorder.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { RequestQueue } from './request-queue.js';
import {
  chatCompletionSchema,
  completionSchema,
  type ChatCompletionBody,
  type CompletionBody,
  type SamplingBody,
} from './request-schemas.js';
import { runChoice, type ChoiceEvent, type ChoiceJob } from './run-choice.js';
import { StrategyRegistry, type StrategyFactory, type StrategySetup } from './strategies.js';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The models to serve, by the id clients send as `model`, e.g. `{ stories260K: await loadModel(...) }`. */
  models: Readonly<Record<string, LoadedModel>>;
  /**
   * Strategies a request may pick with `decodekit: { strategy: name }`. `autoregressive` is always there.
   * @example { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) }
   */
  strategies?: Readonly<Record<string, StrategyFactory>>;
  /**
   * Catalogue strategies a request may also name as `NAME[:key=value,...]` (e.g. `token-recycling:topK=4`),
   * options checked by core's `parseStrategyOptions`. Default: `@decodekit/catalog`'s `STRATEGY_DESCRIPTORS`;
   * `[]` offers only `strategies`.
   */
  strategyCatalog?: readonly StrategyDescriptor[];
  /** The strategy of requests that name none. Default `autoregressive`. */
  defaultStrategy?: string;
  /** Generations that decode at once (they share the CPU or GPU). Default 1. */
  concurrency?: number;
  /** Requests that may wait for a slot; one more gets HTTP 429 at once. Default 32. */
  maxQueued?: number;
  /** `max_tokens` when a request gives none (capped to the room left in the context). Default 256. */
  defaultMaxTokens?: number;
  /** On close, generations still running after this many milliseconds are aborted. Default 10 000. */
  shutdownGraceMs?: number;
  /** Fastify's logger setting. Default false. */
  logger?: boolean;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
}

/** A running (or ready to run) server. */
export interface DecodekitServer {
  /** The Fastify instance (`app.inject` for in-process requests, hooks, extra routes). */
  readonly app: FastifyInstance;
  /** The admission queue (active and waiting requests). */
  readonly queue: RequestQueue;
  readonly metrics: ServerMetrics;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:8080`. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /**
   * Graceful shutdown: refuses new requests (503), rejects waiting ones, lets running generations finish
   * for up to `shutdownGraceMs` (then aborts them), and closes the listener. Models stay loaded: they are
   * the caller's to dispose.
   */
  close(): Promise<void>;
}

/** An OpenAI-style error: HTTP status plus `{ error: { message, type, param, code } }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** One of a request's generations: which prompt, which of its `n`, and its seed. */
interface Choice {
  index: number;
  job: ChoiceJob;
  seed: number;
}

/**
 * Creates an OpenAI-compatible HTTP server (Fastify) over decodekit models: `GET /v1/models`,
 * `POST /v1/completions`, `POST /v1/chat/completions` (SSE streaming, `response_format` json_schema and
 * `tools` through grammar-constrained decoding, `logprobs`, `stop`, `seed`, `n`), plus `GET /health` and
 * Prometheus `GET /metrics`. Requests pass a bounded queue (429 when full); a client that disconnects
 * aborts its generation.
 *
 * @example
 * const server = await createServer({ models: { stories260K: await loadModel('karpathy/tinyllamas/stories260K') } });
 * const url = await server.listen({ host: '127.0.0.1', port: 8080 });
 * // new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' }).chat.completions.create({ model: 'stories260K', messages })
 */
export async function createServer(options: ServerOptions): Promise<DecodekitServer> {
  const models = validateModels(options.models);
  const strategies = new StrategyRegistry(options.strategies ?? {}, options.strategyCatalog);
  const defaultStrategy = options.defaultStrategy ?? 'autoregressive';
  if (!strategies.names.includes(defaultStrategy)) {
    throw new InvalidArgumentError({
      argument: 'defaultStrategy',
      message: `"${defaultStrategy}" is not among the strategies (${strategies.names.join(', ')}).`,
    });
  }
  const defaultMaxTokens = options.defaultMaxTokens ?? 256;
  if (!Number.isInteger(defaultMaxTokens) || defaultMaxTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'defaultMaxTokens',
      message: `must be a positive integer, got ${defaultMaxTokens}.`,
    });
  }
  const graceMs = options.shutdownGraceMs ?? 10_000;
  const queue = new RequestQueue(options.concurrency ?? 1, options.maxQueued ?? 32);
  const metrics = createMetrics(queue);
  const running = new Set<AbortController>();
  let closing = false;
  let closed: Promise<void> | undefined;

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  app.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error);
    if (http.status >= 500) request.log.error(error);
    if (http.status === 429) reply.header('retry-after', '1');
    metrics.request(routeOf(request), http.status);
    return reply.status(http.status).send(errorBody(http));
  });
  app.setNotFoundHandler((request, reply) => {
    const http = new HttpError(
      404,
      `No route ${request.method} ${request.url}.`,
      'invalid_request_error',
      null,
      'not_found',
    );
    return reply.status(404).send(errorBody(http));
  });
  // While closing, every response ends its connection, so keep-alive clients do not hold the close open.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 400) metrics.request(routeOf(request), reply.statusCode);
  });

  // Load shedding before any work: while the queue is full, a generation request is refused before its
  // body is even parsed (a storm of refused requests must not slow the ones being served).
  app.addHook('onRequest', async request => {
    if (request.method === 'POST' && request.url.startsWith('/v1/') && (closing || queue.full)) {
      throw closing ? new ServerClosingError() : new QueueFullError({ queued: queue.queued });
    }
  });

  app.get('/health', async (_request, reply) => {
    const body = {
      status: closing ? 'closing' : 'ok',
      models: Object.keys(models),
      queue: { active: queue.active, queued: queue.queued, capacity: queue.maxQueued },
    };
    return reply.status(closing ? 503 : 200).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    return reply
      .header('content-type', metrics.registry.contentType)
      .send(await metrics.registry.metrics());
  });

  app.get('/v1/models', async () => ({ object: 'list', data: Object.keys(models).map(modelCard) }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async request => {
    modelOf(request.params.id);
    return modelCard(request.params.id);
  });

  app.post<{ Body: ChatCompletionBody }>(
    '/v1/chat/completions',
    { schema: { body: chatCompletionSchema } },
    async (request, reply) => {
      const started = performance.now();
      const body = request.body;
      const model = modelOf(body.model);
      const tools = toolsOf(body);
      const toolChoice = toolChoiceOf(body, tools);
      const schema = responseSchemaOf(body);
      if (body.top_logprobs != null && !body.logprobs) {
        throw new InvalidArgumentError({
          argument: 'top_logprobs',
          message: 'needs logprobs: true.',
        });
      }
      const chat = toChatMessages(body.messages, tools, toolChoice);
      const promptTokens = model.tokenizer.encode(
        model.tokenizer.applyChatTemplate(chat, { addGenerationPrompt: true }),
      );
      const maxTokens = budgetOf(
        model,
        promptTokens.length,
        body.max_completion_tokens ?? body.max_tokens,
      );
      const constraint = constraintOf({ schema, tools, toolChoice }, model, maxTokens);
      const toolsActive = tools.length > 0 && toolChoice !== 'none';
      const setup = await setupOf(body, model);
      const job: ChoiceJob = {
        model,
        promptTokens,
        options: generateOptionsOf(body, maxTokens, constraint !== undefined),
        setup,
        constraint,
        topLogprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
      };
      const choices = expandChoices([job], body);
      const context = { request, reply, body, started, strategy: strategyName(body) };
      if (body.stream) return streamChat(context, choices, toolsActive);
      return respondChat(context, choices, toolsActive);
    },
  );

  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    { schema: { body: completionSchema } },
    async (request, reply) => {
      const started = performance.now();
      const body = request.body;
      const model = modelOf(body.model);
      if (body.echo)
        throw new InvalidArgumentError({
          argument: 'echo',
          message: 'is not supported; the completion text is returned without the prompt.',
        });
      if (body.suffix != null)
        throw new InvalidArgumentError({
          argument: 'suffix',
          message: 'is not supported (no fill-in-the-middle).',
        });
      if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
        throw new InvalidArgumentError({
          argument: 'best_of',
          message: 'is not supported; use n to get several completions.',
        });
      }
      const prompts = promptsOf(body.prompt, model);
      const setup = await setupOf(body, model);
      const jobs = prompts.map(promptTokens => {
        const maxTokens = budgetOf(model, promptTokens.length, body.max_tokens);
        return {
          model,
          promptTokens,
          options: generateOptionsOf(body, maxTokens, false),
          setup,
          topLogprobs: body.logprobs ?? undefined,
        } satisfies ChoiceJob;
      });
      const choices = expandChoices(jobs, body);
      const context = { request, reply, body, started, strategy: strategyName(body) };
      if (body.stream) return streamCompletion(context, choices);
      return respondCompletion(context, choices);
    },
  );

  // ---- request pieces ----------------------------------------------------------------------------

  function modelOf(id: string): LoadedModel {
    const model = models[id];
    if (!model) {
      throw new HttpError(
        404,
        `The model "${id}" does not exist here; this server has: ${Object.keys(models).join(', ')}.`,
        'invalid_request_error',
        'model',
        'model_not_found',
      );
    }
    return model;
  }

  function strategyName(body: SamplingBody): string {
    return body.decodekit?.strategy ?? defaultStrategy;
  }

  function setupOf(body: SamplingBody, model: LoadedModel): Promise<StrategySetup> {
    return strategies.resolve(strategyName(body), body.model, model);
  }

  function budgetOf(
    model: LoadedModel,
    promptLength: number,
    requested: number | null | undefined,
  ): number {
    const { contextLength } = model.info;
    const room = contextLength - promptLength;
    if (room < 1)
      throw new ContextLengthError({ length: promptLength + 1, contextLength, what: 'The prompt' });
    if (requested != null) {
      if (requested > room)
        throw new ContextLengthError({
          length: promptLength + requested,
          contextLength,
          what: 'The prompt plus max_tokens',
        });
      return requested;
    }
    return Math.min(defaultMaxTokens, room);
  }

  function expandChoices(jobs: readonly ChoiceJob[], body: SamplingBody): Choice[] {
    const n = body.n ?? 1;
    const temperature = body.temperature ?? 1;
    // OpenAI samples differently on every call unless a seed is given; choice i uses seed + i.
    const base = body.seed ?? (temperature > 0 ? randomInt(2 ** 31) : 0);
    const choices: Choice[] = [];
    for (const job of jobs)
      for (let i = 0; i < n; i++) choices.push({ index: choices.length, job, seed: base + i });
    return choices;
  }

  /**
   * Takes a decoding slot for the request (429 when the queue is full), aborts on client disconnect, and
   * runs `body`; the slot and the abort wiring are released however it ends.
   */
  async function withSlot<T>(
    reply: FastifyReply,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (closing) throw new ServerClosingError();
    const controller = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableEnded) controller.abort(new Error('the client disconnected'));
    };
    reply.raw.on('close', onClose);
    try {
      const release = await queue.acquire(controller.signal);
      running.add(controller);
      try {
        return await body(controller.signal);
      } finally {
        running.delete(controller);
        release();
      }
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  async function* generate(
    choice: Choice,
    context: RequestContext,
    signal: AbortSignal,
    first: { seen: boolean },
  ): AsyncGenerator<ChoiceEvent> {
    for await (const event of runChoice(choice.job, choice.seed, signal)) {
      if (event.type === 'token' && !first.seen) {
        first.seen = true;
        metrics.firstToken(context.body.model, (performance.now() - context.started) / 1000);
      }
      if (event.type === 'done')
        metrics.generation(context.body.model, context.strategy, event.stats);
      yield event;
    }
  }

  /** Totals of a response's choices, for `usage`. */
  interface UsageCount {
    promptTokens: number;
    completionTokens: number;
  }

  /**
   * Runs every choice of a request in one decoding slot and counts its usage: `onEvent` sees each choice's
   * events; a choice's `done` is counted (an aborted one rejects). For the non-streaming responses.
   */
  async function runChoices(
    context: RequestContext,
    choices: Choice[],
    onEvent: (choice: Choice, event: ChoiceEvent) => void,
  ): Promise<UsageCount> {
    return withSlot(context.reply, async signal => {
      const first = { seen: false };
      const count: UsageCount = { promptTokens: 0, completionTokens: 0 };
      for (const choice of choices) {
        let ended = false;
        for await (const event of generate(choice, context, signal, first)) {
          if (event.type === 'done') {
            countDone(count, choice, event, signal);
            ended = true;
          }
          onEvent(choice, event);
        }
        if (!ended) throw new AbortedError({ reason: signal.reason });
      }
      return count;
    });
  }

  /**
   * Streams a response as server-sent events in one decoding slot: `body` sends each choice's chunks
   * (`send` wraps a choice in the response envelope) and counts usage; then the usage chunk (when asked)
   * and `[DONE]`, or the error as the last event.
   */
  async function streamResponse(
    context: RequestContext,
    object: 'chat.completion.chunk' | 'text_completion',
    route: string,
    body: (stream: {
      send(choice: Record<string, unknown>): Promise<void>;
      signal: AbortSignal;
      first: { seen: boolean };
      count: UsageCount;
    }) => Promise<void>,
  ): Promise<void> {
    const { request, reply, body: requestBody } = context;
    const id = `${object === 'text_completion' ? 'cmpl' : 'chatcmpl'}-${randomUUID()}`;
    const created = nowSeconds();
    const chunk = (
      choice: Record<string, unknown> | undefined,
      extra: Record<string, unknown> = {},
    ) => ({
      id,
      object,
      created,
      model: requestBody.model,
      system_fingerprint: fingerprint(context.strategy),
      choices: choice ? [choice] : [],
      ...extra,
    });
    await withSlot(reply, async signal => {
      const sse = openSse(reply);
      const count: UsageCount = { promptTokens: 0, completionTokens: 0 };
      try {
        await body({
          send: choice => sse.send(chunk(choice)),
          signal,
          first: { seen: false },
          count,
        });
        if (requestBody.stream_options?.include_usage)
          await sse.send(
            chunk(undefined, { usage: usage(count.promptTokens, count.completionTokens) }),
          );
        await sse.done();
      } catch (error) {
        await sse.fail(error);
        if (!AbortedError.isInstance(error)) request.log.error(error);
      } finally {
        metrics.request(route, 200); // the status line went out with the first event
      }
    });
  }

  // ---- chat ----------------------------------------------------------------------------------------

  async function respondChat(
    context: RequestContext,
    choices: Choice[],
    toolsActive: boolean,
  ): Promise<unknown> {
    const logprobs = new Map<Choice, TokenLogprob[]>();
    const results: Record<string, unknown>[] = [];
    const count = await runChoices(context, choices, (choice, event) => {
      if (event.type === 'token') {
        if (event.logprob) logprobs.set(choice, [...(logprobs.get(choice) ?? []), event.logprob]);
        return;
      }
      const call = toolsActive ? readToolCall(event.text) : undefined;
      results.push({
        index: choice.index,
        message: call
          ? { role: 'assistant', content: null, tool_calls: [toolCallBody(call)] }
          : { role: 'assistant', content: event.text },
        logprobs:
          choice.job.topLogprobs === undefined
            ? null
            : { content: call ? null : (logprobs.get(choice) ?? []).map(chatLogprob) },
        finish_reason: call ? 'tool_calls' : finishReason(event.reason),
      });
    });
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: nowSeconds(),
      model: context.body.model,
      system_fingerprint: fingerprint(context.strategy),
      choices: results,
      usage: usage(count.promptTokens, count.completionTokens),
    };
  }

  async function streamChat(
    context: RequestContext,
    choices: Choice[],
    toolsActive: boolean,
  ): Promise<void> {
    await streamResponse(
      context,
      'chat.completion.chunk',
      '/v1/chat/completions',
      async ({ send, signal, first, count }) => {
        for (const choice of choices) {
          const wantLogprobs = choice.job.topLogprobs !== undefined;
          const delta = (body: Record<string, unknown>, logprobs: unknown = null) =>
            send({ index: choice.index, delta: body, logprobs, finish_reason: null });
          await delta({ role: 'assistant', content: '' });
          // Under tools, text that may still begin a call is held back (with its logprobs); a call streams
          // as tool_calls deltas: the name with the call's id, then the arguments as they are generated.
          const reader = toolsActive
            ? toolCallStream({ format: JSON_TOOL_CALL_FORMAT })
            : undefined;
          const callId = toolCallId();
          let pendingLogprobs: TokenLogprob[] = [];
          const sendAnswer = async ({ text, calls }: ToolAnswerDelta): Promise<void> => {
            for (const piece of calls) {
              if (piece.name !== undefined) {
                const start = { name: piece.name, arguments: '' };
                await delta({
                  tool_calls: [{ index: 0, id: callId, type: 'function', function: start }],
                });
              }
              if (piece.argumentsDelta)
                await delta({
                  tool_calls: [{ index: 0, function: { arguments: piece.argumentsDelta } }],
                });
            }
            if (reader?.mode === 'call') pendingLogprobs = [];
            if (reader?.mode === 'undecided') return;
            if (text.length === 0 && pendingLogprobs.length === 0) return;
            await delta(
              { content: text },
              wantLogprobs ? { content: pendingLogprobs.map(chatLogprob) } : null,
            );
            pendingLogprobs = [];
          };
          for await (const event of generate(choice, context, signal, first)) {
            if (event.type === 'token') {
              if (event.logprob) pendingLogprobs.push(event.logprob);
              await sendAnswer(reader ? reader.push(event.text) : { text: event.text, calls: [] });
              continue;
            }
            countDone(count, choice, event, signal);
            let finish = finishReason(event.reason);
            if (reader?.mode === 'call' && reader.namedCalls > 0) {
              if (readToolCall(event.text)) finish = 'tool_calls';
            } else if (reader) {
              // Held text, or a call cut before its name was complete (max_tokens below the call).
              const rest = reader.end();
              if (rest.text.length > 0) await delta({ content: rest.text });
            }
            await send({ index: choice.index, delta: {}, logprobs: null, finish_reason: finish });
          }
        }
      },
    );
  }

  // ---- completions -------------------------------------------------------------------------------

  async function respondCompletion(context: RequestContext, choices: Choice[]): Promise<unknown> {
    const pieces = new Map<Choice, { texts: string[]; logprobs: TokenLogprob[] }>();
    const results: Record<string, unknown>[] = [];
    const count = await runChoices(context, choices, (choice, event) => {
      const seen = pieces.get(choice) ?? { texts: [], logprobs: [] };
      pieces.set(choice, seen);
      if (event.type === 'token') {
        seen.texts.push(event.text);
        if (event.logprob) seen.logprobs.push(event.logprob);
        return;
      }
      results.push({
        index: choice.index,
        text: event.text,
        logprobs:
          choice.job.topLogprobs === undefined
            ? null
            : completionLogprobs(seen.logprobs, seen.texts, 0),
        finish_reason: finishReason(event.reason),
      });
    });
    return {
      id: `cmpl-${randomUUID()}`,
      object: 'text_completion',
      created: nowSeconds(),
      model: context.body.model,
      system_fingerprint: fingerprint(context.strategy),
      choices: results,
      usage: usage(count.promptTokens, count.completionTokens),
    };
  }

  async function streamCompletion(context: RequestContext, choices: Choice[]): Promise<void> {
    await streamResponse(
      context,
      'text_completion',
      '/v1/completions',
      async ({ send, signal, first, count }) => {
        for (const choice of choices) {
          let offset = 0;
          for await (const event of generate(choice, context, signal, first)) {
            if (event.type === 'token') {
              const logprobs = event.logprob
                ? completionLogprobs([event.logprob], [event.text], offset)
                : null;
              offset += event.text.length;
              if (event.text.length === 0 && !logprobs) continue;
              await send({ index: choice.index, text: event.text, logprobs, finish_reason: null });
              continue;
            }
            countDone(count, choice, event, signal);
            await send({
              index: choice.index,
              text: '',
              logprobs: null,
              finish_reason: finishReason(event.reason),
            });
          }
        }
      },
    );
  }

  return {
    app,
    queue,
    metrics,
    async listen({ host = '127.0.0.1', port = 8080 } = {}) {
      return app.listen({ host, port });
    },
    close() {
      closed ??= shutDown();
      return closed;
    },
  };

  async function shutDown(): Promise<void> {
    closing = true;
    queue.close();
    const timer = setTimeout(() => {
      for (const controller of running) controller.abort(new ServerClosingError());
    }, graceMs);
    // Connections that turn idle after their last response (streams included) are closed as they go.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    timer.unref();
    sweep.unref();
    try {
      await app.close();
    } finally {
      clearTimeout(timer);
      clearInterval(sweep);
    }
  }
}

interface RequestContext {
  request: FastifyRequest;
  reply: FastifyReply;
  body: SamplingBody;
  /** performance.now() when the request arrived. */
  started: number;
  strategy: string;
}

/** Server-sent events on a hijacked reply, with write backpressure (a slow client slows its generation). */
function openSse(reply: FastifyReply): {
  send(data: unknown): Promise<void>;
  done(): Promise<void>;
  fail(error: unknown): Promise<void>;
} {
  reply.hijack();
  const raw: ServerResponse = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const write = (text: string): Promise<void> => {
    if (raw.destroyed || raw.writableEnded) return Promise.resolve();
    if (raw.write(text)) return Promise.resolve();
    return new Promise(resolve => {
      const finish = (): void => {
        raw.off('drain', finish);
        raw.off('close', finish);
        resolve();
      };
      raw.on('drain', finish);
      raw.on('close', finish);
    });
  };
  return {
    send: data => write(`data: ${JSON.stringify(data)}\n\n`),
    async done() {
      await write('data: [DONE]\n\n');
      raw.end();
    },
    async fail(error) {
      if (raw.destroyed || raw.writableEnded) return;
      await write(`data: ${JSON.stringify(errorBody(toHttpError(error)))}\n\n`);
      raw.end();
    },
  };
}

function validateModels(
  models: Readonly<Record<string, LoadedModel>> | undefined,
): Readonly<Record<string, LoadedModel>> {
  if (!models || typeof models !== 'object' || Object.keys(models).length === 0) {
    throw new InvalidArgumentError({
      argument: 'models',
      message: 'give at least one model: { models: { id: await loadModel(ref) } }.',
    });
  }
  for (const [id, model] of Object.entries(models)) {
    if (!model || typeof model.createSequence !== 'function' || !model.tokenizer) {
      throw new InvalidArgumentError({
        argument: `models.${id}`,
        message: 'must be a LoadedModel (a CausalLM with its tokenizer) from loadModel().',
      });
    }
  }
  return models;
}

/** The output constraint, with the budget error naming the request's own field. */
function constraintOf(format: OutputFormat, model: LoadedModel, maxTokens: number) {
  try {
    return outputConstraint(
      { ...format, callFormat: JSON_TOOL_CALL_FORMAT },
      { tokenizer: model.tokenizer, maxTokens },
    );
  } catch (error) {
    if (InvalidArgumentError.isInstance(error) && error.argument === 'maxTokens') {
      throw new InvalidArgumentError({
        argument: 'max_tokens',
        message: error.message
          .replace(/^Invalid argument "maxTokens": /, '')
          .replace('raise maxTokens', 'raise max_tokens'),
      });
    }
    throw error;
  }
}

function toolsOf(body: ChatCompletionBody): ToolDefinition[] {
  return (body.tools ?? []).map(tool => ({
    name: tool.function.name,
    description: tool.function.description,
    parameters: tool.function.parameters,
  }));
}

function toolChoiceOf(body: ChatCompletionBody, tools: readonly ToolDefinition[]): ToolChoice {
  const choice = body.tool_choice;
  if (choice === undefined) return tools.length > 0 ? 'auto' : 'none';
  if (typeof choice === 'string') {
    if (choice !== 'none' && tools.length === 0)
      throw new InvalidArgumentError({
        argument: 'tool_choice',
        message: `"${choice}" needs tools.`,
      });
    return choice;
  }
  return { name: choice.function.name };
}

function responseSchemaOf(body: ChatCompletionBody): JsonSchema | undefined {
  const format = body.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'object' };
  if (format.json_schema?.schema === undefined) {
    throw new InvalidArgumentError({
      argument: 'response_format.json_schema.schema',
      message: 'is required for type "json_schema".',
    });
  }
  return format.json_schema.schema as JsonSchema;
}

function promptsOf(prompt: CompletionBody['prompt'], model: LoadedModel): number[][] {
  const check = (tokens: number[], index: number): number[] => {
    const bad = tokens.find(id => id >= model.info.vocabSize);
    if (bad !== undefined)
      throw new InvalidArgumentError({
        argument: `prompt[${index}]`,
        message: `token ${bad} is outside the vocabulary (${model.info.vocabSize}).`,
      });
    return tokens;
  };
  if (typeof prompt === 'string') return [model.tokenizer.encode(prompt)];
  if (prompt.every(item => typeof item === 'string'))
    return (prompt as string[]).map(text => model.tokenizer.encode(text));
  if (prompt.every(item => typeof item === 'number')) return [check(prompt as number[], 0)];
  return (prompt as number[][]).map(check);
}

/** The decoder options of a request, validated here (a 400 before the request takes a slot or streams). */
function generateOptionsOf(
  body: SamplingBody,
  maxTokens: number,
  constrained: boolean,
): GenerateOptions {
  const options: GenerateOptions = { maxTokens, temperature: body.temperature ?? 1 };
  if (body.top_p != null && body.top_p < 1) options.topP = body.top_p;
  if (body.presence_penalty) options.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty) options.frequencyPenalty = body.frequency_penalty;
  if (body.decodekit?.ignore_eos) options.ignoreEos = true;
  // A constrained answer ends where its grammar says; a stop string could cut it into invalid JSON.
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (!constrained && stop.length > 0) options.stop = stop;
  try {
    resolveGenerateOptions(options);
  } catch (error) {
    if (InvalidArgumentError.isInstance(error))
      throw new InvalidArgumentError({
        argument: OPENAI_NAMES[error.argument] ?? error.argument,
        message: error.message.replace(/^Invalid argument "[^"]+": /, ''),
      });
    throw error;
  }
  return options;
}

/** OpenAI's names of core's generate options, for error messages. */
const OPENAI_NAMES: Record<string, string> = {
  maxTokens: 'max_tokens',
  topP: 'top_p',
  presencePenalty: 'presence_penalty',
  frequencyPenalty: 'frequency_penalty',
};

/** The call an answer makes, or undefined for text (a call cut short by max_tokens reads as text). */
function readToolCall(text: string) {
  return readToolCalls(text, { format: JSON_TOOL_CALL_FORMAT }).calls[0];
}

/** Adds a finished choice to the usage totals; an aborted one rejects instead. */
function countDone(
  count: { promptTokens: number; completionTokens: number },
  choice: Choice,
  done: Extract<ChoiceEvent, { type: 'done' }>,
  signal: AbortSignal,
): void {
  if (done.reason === 'abort') throw new AbortedError({ reason: signal.reason });
  count.promptTokens += choice.job.promptTokens.length;
  count.completionTokens += done.tokens;
}

function toolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

function toolCallBody(call: { name: string; argumentsText: string }) {
  return {
    id: toolCallId(),
    type: 'function',
    function: { name: call.name, arguments: call.argumentsText },
  };
}

function chatLogprob(entry: TokenLogprob) {
  return {
    token: entry.token,
    logprob: entry.logprob,
    bytes: entry.bytes,
    top_logprobs: entry.top.map(top => ({
      token: top.token,
      logprob: top.logprob,
      bytes: top.bytes,
    })),
  };
}

function completionLogprobs(
  entries: readonly TokenLogprob[],
  texts: readonly string[],
  offset: number,
) {
  const textOffset: number[] = [];
  let at = offset;
  for (const text of texts) {
    textOffset.push(at);
    at += text.length;
  }
  return {
    tokens: entries.map(entry => entry.token),
    token_logprobs: entries.map(entry => entry.logprob),
    top_logprobs: entries.map(entry =>
      Object.fromEntries(entry.top.map(top => [top.token, top.logprob])),
    ),
    text_offset: textOffset.slice(0, entries.length),
  };
}

function finishReason(reason: FinishReason): string {
  return reason === 'length' ? 'length' : 'stop';
}

function usage(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function modelCard(id: string) {
  return { id, object: 'model', created: 0, owned_by: 'decodekit' };
}

function fingerprint(strategy: string): string {
  return `decodekit-${strategy}`;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? 'unknown';
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const validation =
    (error as {
      validation?: { instancePath?: string; params?: { missingProperty?: string } }[];
      message?: string;
    }) ?? {};
  if (Array.isArray(validation.validation)) {
    // Ajv's first error: `/temperature` → `temperature`, `/messages/0/role` → `messages.0.role`.
    const [first] = validation.validation;
    const path = [
      first?.instancePath?.slice(1).replaceAll('/', '.'),
      first?.params?.missingProperty,
    ]
      .filter(Boolean)
      .join('.');
    return new HttpError(
      400,
      `Invalid request: ${validation.message ?? 'the body does not match the schema'}.`,
      'invalid_request_error',
      path || null,
      'invalid_request',
    );
  }
  const statusCode = (error as { statusCode?: number }).statusCode;
  if (
    statusCode !== undefined &&
    statusCode >= 400 &&
    statusCode < 500 &&
    !DecodingError.isInstance(error)
  ) {
    return new HttpError(statusCode, (error as Error).message, 'invalid_request_error');
  }
  if (QueueFullError.isInstance(error))
    return new HttpError(429, error.message, 'rate_limit_error', null, 'queue_full');
  if (ServerClosingError.isInstance(error))
    return new HttpError(503, error.message, 'server_error', null, 'shutting_down');
  if (ContextLengthError.isInstance(error))
    return new HttpError(
      400,
      error.message,
      'invalid_request_error',
      'messages',
      'context_length_exceeded',
    );
  if (InvalidArgumentError.isInstance(error))
    return new HttpError(
      400,
      error.message,
      'invalid_request_error',
      error.argument,
      'invalid_value',
    );
  if (AbortedError.isInstance(error)) return new HttpError(499, error.message, 'request_aborted');
  if (DecodingError.isInstance(error))
    return new HttpError(500, error.message, 'server_error', null, error.name);
  return new HttpError(500, 'Internal server error.', 'server_error');
}

function errorBody(error: HttpError) {
  return {
    error: { message: error.message, type: error.type, param: error.param, code: error.code },
  };
}
