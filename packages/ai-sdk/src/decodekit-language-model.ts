import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
  LanguageModelV4Usage,
  SharedV4ProviderMetadata,
  SharedV4Warning,
} from '@ai-sdk/provider';
import {
  AbortedError,
  ContextLengthError,
  createDecoder,
  InvalidArgumentError,
  resolveGenerateOptions,
  type DecodeEvent,
  type DecodeStats,
  type FinishReason,
  type GenerateOptions,
  type LoadedModel,
  type LogitsProcessor,
} from '@decodekit/core';
import {
  JSON_TOOL_CALL_FORMAT,
  outputConstraint,
  readToolCalls,
  toolCallStream,
  type JsonSchema,
  type ToolAnswerDelta,
  type ToolChoice,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';
import { toChatMessages } from './to-chat-messages.js';
import type { StrategyRegistry } from './strategy-registry.js';

/** `providerOptions.decodekit` of a call. */
export interface DecodekitProviderOptions {
  /** One of the provider's strategies by name, e.g. `'prompt-lookup'` (see `createDecodekit({ strategies })`). */
  strategy?: string;
  /** Drop tokens below minP × the top probability (sampling only). */
  minP?: number;
  /** Hugging Face repetition penalty (> 0; 1 = off). */
  repetitionPenalty?: number;
  /** Keep generating past EOS until maxOutputTokens (benchmarks). */
  ignoreEos?: boolean;
}

/** What the model needs from its provider. */
export interface DecodekitModelContext {
  provider: string;
  loadModel(): Promise<LoadedModel>;
  strategies: StrategyRegistry;
  defaultMaxTokens: number;
  /** Runs one generation at a time per model (stateful drafters see calls in order). */
  exclusive<T>(model: LoadedModel, run: () => Promise<T>): Promise<T>;
  generateId(): string;
}

/** One prepared call: the decode events (lazily started), whether tools are callable, warnings. */
interface PreparedCall {
  events: AsyncIterable<DecodeEvent>;
  toolsActive: boolean;
  warnings: SharedV4Warning[];
  strategy: string;
}

const KNOWN_OPTIONS = new Set(['strategy', 'minP', 'repetitionPenalty', 'ignoreEos']);

/**
 * A decodekit model as an AI SDK language model (specification v4). Text, JSON output
 * (`responseFormat: { type: 'json', schema }`, what `generateObject`/`streamObject`/`Output.object` send)
 * and tool calls are decoded under grammar constraints from `@decodekit/strategy-constrained`: the JSON is
 * valid under the schema and the tool arguments under the tool's schema by construction, never retried.
 */
export class DecodekitLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4';
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(
    readonly modelId: string,
    private readonly context: DecodekitModelContext,
  ) {}

  get provider(): string {
    return this.context.provider;
  }

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const model = await this.context.loadModel();
    return this.context.exclusive(model, async () => {
      const call = await this.prepare(model, options);
      let done: Extract<DecodeEvent, { type: 'done' }> | undefined;
      for await (const event of call.events) if (event.type === 'done') done = event;
      if (!done || done.reason === 'abort')
        throw new AbortedError({ reason: options.abortSignal?.reason });
      const toolCall = call.toolsActive ? readToolCall(done.text) : undefined;
      const content: LanguageModelV4Content[] = toolCall
        ? [
            {
              type: 'tool-call',
              toolCallId: this.context.generateId(),
              toolName: toolCall.name,
              input: toolCall.argumentsText,
            },
          ]
        : [{ type: 'text', text: done.text }];
      return {
        content,
        finishReason: finishReasonOf(done.reason, toolCall !== undefined),
        usage: usageOf(done.promptTokens.length, done.tokens.length),
        providerMetadata: metadataOf(done.stats, done.reason, call.strategy),
        request: { body: { prompt: options.prompt, strategy: call.strategy } },
        response: { modelId: this.modelId, timestamp: new Date() },
        warnings: call.warnings,
      };
    });
  }

  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const model = await this.context.loadModel();
    const cancel = new AbortController();
    const signal = options.abortSignal
      ? AbortSignal.any([options.abortSignal, cancel.signal])
      : cancel.signal;
    let release: (() => void) | undefined;
    const slot = new Promise<void>(resolve => {
      void this.context.exclusive(
        model,
        () =>
          new Promise<void>(done => {
            release = done;
            resolve();
          }),
      );
    });
    let call: PreparedCall;
    try {
      await slot;
      call = await this.prepare(model, { ...options, abortSignal: signal });
    } catch (error) {
      release?.();
      throw error;
    }
    const iterator = call.events[Symbol.asyncIterator]();
    const textId = this.context.generateId();
    const generateId = this.context.generateId;
    const modelId = this.modelId;
    // Under tools, text that may still begin a call is held back; a call streams as tool input: the name
    // as soon as it is complete, then the arguments as generated.
    const reader = call.toolsActive ? toolCallStream({ format: JSON_TOOL_CALL_FORMAT }) : undefined;
    let textOpen = false;
    let finished = false;
    const callId = generateId();
    /** Enqueues what a piece of the answer settles; false when it settled nothing. */
    const enqueue = (
      controller: ReadableStreamDefaultController<LanguageModelV4StreamPart>,
      { text, calls }: ToolAnswerDelta,
    ): boolean => {
      if (text.length > 0) {
        if (!textOpen) {
          controller.enqueue({ type: 'text-start', id: textId });
          textOpen = true;
        }
        controller.enqueue({ type: 'text-delta', id: textId, delta: text });
      }
      for (const delta of calls) {
        if (delta.name !== undefined)
          controller.enqueue({ type: 'tool-input-start', id: callId, toolName: delta.name });
        if (delta.argumentsDelta)
          controller.enqueue({ type: 'tool-input-delta', id: callId, delta: delta.argumentsDelta });
      }
      return text.length > 0 || calls.length > 0;
    };
    const finish = (): void => {
      finished = true;
      release?.();
    };
    // An abort while nobody reads (the decoder is pull-driven, so it sits idle) still frees the model.
    signal.addEventListener(
      'abort',
      () => {
        if (finished) return;
        void iterator.return?.()?.catch(() => undefined);
        finish();
      },
      { once: true },
    );
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start(controller) {
        controller.enqueue({ type: 'stream-start', warnings: call.warnings });
        controller.enqueue({
          type: 'response-metadata',
          id: generateId(),
          modelId,
          timestamp: new Date(),
        });
      },
      async pull(controller) {
        try {
          for (;;) {
            const { value: event, done } = await iterator.next();
            if (done) {
              controller.close();
              finish();
              return;
            }
            if (event.type === 'token') {
              if (event.text.length === 0) continue;
              const settled = reader ? reader.push(event.text) : { text: event.text, calls: [] };
              if (enqueue(controller, settled)) return; // one step per pull: the consumer's pace sets the decoder's
              continue;
            }
            if (event.type !== 'done') continue;
            if (event.reason === 'abort') throw new AbortedError({ reason: signal.reason });
            const called = reader?.mode === 'call' && reader.namedCalls > 0;
            const toolCall = called ? readToolCall(event.text) : undefined;
            if (called) controller.enqueue({ type: 'tool-input-end', id: callId });
            if (toolCall) {
              controller.enqueue({
                type: 'tool-call',
                toolCallId: callId,
                toolName: toolCall.name,
                input: toolCall.argumentsText,
              });
            } else if (called) {
              // A call cut short (maxOutputTokens below what the tool needs): hand back the text.
              enqueue(controller, { text: event.text, calls: [] });
            } else if (reader) {
              enqueue(controller, reader.end());
            }
            if (textOpen) controller.enqueue({ type: 'text-end', id: textId });
            controller.enqueue({
              type: 'finish',
              finishReason: finishReasonOf(event.reason, toolCall !== undefined),
              usage: usageOf(event.promptTokens.length, event.tokens.length),
              providerMetadata: metadataOf(event.stats, event.reason, call.strategy),
            });
          }
        } catch (error) {
          controller.enqueue({ type: 'error', error });
          controller.close();
          finish();
        }
      },
      async cancel(reason) {
        cancel.abort(reason);
        if (!finished) {
          try {
            await iterator.return?.();
          } finally {
            finish();
          }
        }
      },
    });
    return { stream, request: { body: { prompt: options.prompt, strategy: call.strategy } } };
  }

  private async prepare(
    model: LoadedModel,
    options: LanguageModelV4CallOptions,
  ): Promise<PreparedCall> {
    options.abortSignal?.throwIfAborted();
    const warnings: SharedV4Warning[] = [];
    const providerOptions = (options.providerOptions?.decodekit ?? {}) as DecodekitProviderOptions;
    for (const key of Object.keys(providerOptions)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new InvalidArgumentError({
          argument: `providerOptions.decodekit.${key}`,
          message: `is not an option; decodekit takes ${[...KNOWN_OPTIONS].join(', ')}.`,
        });
      }
    }
    const tools: ToolDefinition[] = [];
    for (const tool of options.tools ?? []) {
      if (tool.type === 'function')
        tools.push({
          name: tool.name,
          description: tool.description,
          parameters: tool.inputSchema as JsonSchema,
        });
      else
        warnings.push({
          type: 'unsupported',
          feature: `provider tool ${tool.name}`,
          details: 'decodekit runs function tools only.',
        });
    }
    const toolChoice = toolChoiceOf(options.toolChoice);
    const toolsActive = tools.length > 0 && toolChoice !== 'none';
    const format = options.responseFormat;
    const schema: JsonSchema | undefined =
      format?.type === 'json' ? ((format.schema as JsonSchema | undefined) ?? true) : undefined;
    if (
      options.reasoning !== undefined &&
      options.reasoning !== 'provider-default' &&
      options.reasoning !== 'none'
    ) {
      warnings.push({
        type: 'unsupported',
        feature: 'reasoning',
        details: 'decodekit models do not reason separately.',
      });
    }

    const chat = toChatMessages(options.prompt, tools, toolChoice);
    const promptTokens = model.tokenizer.encode(
      model.tokenizer.applyChatTemplate(chat, { addGenerationPrompt: true }),
    );
    const room = model.info.contextLength - promptTokens.length;
    if (room < 1)
      throw new ContextLengthError({
        length: promptTokens.length + 1,
        contextLength: model.info.contextLength,
        what: 'The prompt',
      });
    let maxTokens = options.maxOutputTokens ?? this.context.defaultMaxTokens;
    if (maxTokens > room) {
      if (options.maxOutputTokens !== undefined) {
        throw new ContextLengthError({
          length: promptTokens.length + maxTokens,
          contextLength: model.info.contextLength,
          what: 'The prompt plus maxOutputTokens',
        });
      }
      maxTokens = room;
    }
    const constraint = outputConstraint(
      { schema, tools, toolChoice, callFormat: JSON_TOOL_CALL_FORMAT },
      { tokenizer: model.tokenizer, maxTokens },
    );
    const strategyName = providerOptions.strategy ?? 'autoregressive';
    const setup = await this.context.strategies.resolve(strategyName, this.modelId, model);

    const generate: GenerateOptions = { maxTokens, signal: options.abortSignal };
    if (options.temperature !== undefined) generate.temperature = options.temperature;
    if (options.topP !== undefined) generate.topP = options.topP;
    if (options.topK !== undefined) generate.topK = options.topK;
    if (options.presencePenalty !== undefined) generate.presencePenalty = options.presencePenalty;
    if (options.frequencyPenalty !== undefined)
      generate.frequencyPenalty = options.frequencyPenalty;
    if (options.seed !== undefined) generate.seed = options.seed;
    if (providerOptions.minP !== undefined) generate.minP = providerOptions.minP;
    if (providerOptions.repetitionPenalty !== undefined)
      generate.repetitionPenalty = providerOptions.repetitionPenalty;
    if (providerOptions.ignoreEos) generate.ignoreEos = true;
    if (options.stopSequences?.length) {
      // A constrained answer ends where its grammar says; a stop sequence could cut it into invalid JSON.
      if (constraint)
        warnings.push({
          type: 'unsupported',
          feature: 'stopSequences',
          details: 'not applied while the output is constrained (JSON or tools).',
        });
      else generate.stop = options.stopSequences;
    }
    resolveGenerateOptions(generate); // bad values throw here, not from inside the stream
    const processors: LogitsProcessor<unknown>[] = [...(setup.processors ?? [])];
    if (constraint) processors.push(constraint);
    const decoder = createDecoder({
      model: setup.model ?? model,
      tokenizer: model.tokenizer,
      processors,
      strategy: setup.strategy,
    });
    return {
      events: decoder.stream({ tokens: promptTokens }, generate),
      toolsActive,
      warnings,
      strategy: strategyName,
    };
  }
}

function toolChoiceOf(choice: LanguageModelV4CallOptions['toolChoice']): ToolChoice {
  if (!choice) return 'auto';
  return choice.type === 'tool' ? { name: choice.toolName } : choice.type;
}

/** The call an answer makes, or undefined for text (a call cut short reads as text). */
function readToolCall(text: string) {
  return readToolCalls(text, { format: JSON_TOOL_CALL_FORMAT }).calls[0];
}

function finishReasonOf(reason: FinishReason, toolCall: boolean): LanguageModelV4FinishReason {
  if (toolCall) return { unified: 'tool-calls', raw: reason };
  return {
    unified: reason === 'length' ? 'length' : reason === 'abort' ? 'other' : 'stop',
    raw: reason,
  };
}

function usageOf(input: number, output: number): LanguageModelV4Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function metadataOf(
  stats: DecodeStats,
  reason: FinishReason,
  strategy: string,
): SharedV4ProviderMetadata {
  const json: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats))
    if (typeof value === 'number' && Number.isFinite(value)) json[key] = value;
  return { decodekit: { strategy, finishReason: reason, stats: json } };
}
