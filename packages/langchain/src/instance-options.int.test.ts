import {
  BackendError,
  InvalidArgumentError,
  type LoadedModel,
  type LogitsProcessor,
  type Sequence,
  type StrategyContext,
} from '@decodekit/core';
import { ModelAbortError } from '@langchain/core/errors';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatDecodekit } from './chat-decodekit.js';
import { DecodekitLLM } from './decodekit-llm.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
});

async function caught(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** An autoregressive strategy that waits 5 ms before each step, so a short timeout fires mid-call. */
function slowStrategy() {
  return {
    kind: 'strategy' as const,
    name: 'slow',
    lossless: true,
    async run(context: StrategyContext) {
      for (;;) {
        await new Promise(resolve => setTimeout(resolve, 5));
        const { logits } = await context.forward({
          tokens: Int32Array.of(context.tokens[context.tokens.length - 1]),
        });
        context.sequence.commit([0]);
        const row = logits.slice(0, context.model.info.vocabSize);
        context.processor.process(row, context.processorState);
        if (!context.emit(context.sampler.sample(row, context.random), 'target')) return;
      }
    },
  };
}

/** The real model, except that the first `failures` forward calls throw a BackendError. */
function flakyModel(failures: number): LoadedModel & { forwardCalls: number } {
  const flaky = {
    ...model,
    source: `${model.source}#flaky`,
    forwardCalls: 0,
    createSequence(): Sequence {
      const sequence = model.createSequence();
      const forward = sequence.forward.bind(sequence);
      (sequence as { forward: Sequence['forward'] }).forward = (...args) => {
        flaky.forwardCalls += 1;
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new BackendError({ message: 'device lost (simulated)' }));
        }
        return forward(...args);
      };
      return sequence;
    },
  };
  return flaky;
}

describe('instance options are real fields', () => {
  it('temperature, maxTokens and every decode option read back and take effect when set', async () => {
    const chat = new ChatDecodekit({ maxTokens: 12, topK: 5 });
    expect(chat.temperature).toBe(0);
    expect(chat.maxTokens).toBe(12);
    expect(chat.topK).toBe(5);
    expect(new ChatDecodekit().maxTokens).toBe(256);
    chat.maxTokens = 5;
    expect((await chat.invoke('Hello')).usage_metadata?.output_tokens).toBe(5);
    chat.maxTokens = 20;
    chat.temperature = 1;
    chat.seed = 7;
    const sampled = await chat.invoke('Hello');
    const expected = await new ChatDecodekit({ maxTokens: 20, topK: 5 }).invoke('Hello', {
      temperature: 1,
      seed: 7,
    });
    expect(sampled.text).toBe(expected.text);
    expect(chat.getLsParams({} as never)).toMatchObject({ ls_temperature: 1, ls_max_tokens: 20 });
    chat.temperature = -1;
    const error = await caught(() => chat.invoke('Hello'));
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe('temperature');

    const llm = new DecodekitLLM({ maxTokens: 9 });
    expect(llm.maxTokens).toBe(9);
    expect(llm.temperature).toBe(0);
    llm.maxTokens = 3;
    const result = await llm.generate(['Once upon a time']);
    expect(result.llmOutput?.tokenUsage.completionTokens).toBe(3);
  });

  it('timeout aborts a call that runs longer with a typed ModelAbortError', async () => {
    const chat = new ChatDecodekit({ maxTokens: 200, timeout: 30, strategy: slowStrategy() });
    expect(chat.timeout).toBe(30);
    const error = await caught(() => chat.invoke('Hello'));
    expect(ModelAbortError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/timed out after 30 ms/);
    const llmError = await caught(() =>
      new DecodekitLLM({ maxTokens: 200, timeout: 30, strategy: slowStrategy() }).invoke('Hello'),
    );
    expect(ModelAbortError.isInstance(llmError), String(llmError)).toBe(true);
    // A call that finishes in time is unaffected.
    const quick = new ChatDecodekit({ maxTokens: 4, timeout: 10_000 });
    expect((await quick.invoke('Hello')).text).toBe(
      (await new ChatDecodekit({ maxTokens: 4 }).invoke('Hello')).text,
    );
  });

  it('stopSequences is the stop strings of every call', async () => {
    const free = await new ChatDecodekit({ maxTokens: 48 }).invoke('Tell me a story.');
    const word = free.text.trim().split(/\s+/)[3];
    const chat = new ChatDecodekit({ maxTokens: 48, stopSequences: [word] });
    expect(chat.stopSequences).toEqual([word]);
    expect(chat.stop).toEqual([word]);
    expect((await chat.invoke('Tell me a story.')).text).toBe(
      free.text.slice(0, free.text.indexOf(word)),
    );
  });

  it('maxRetries retries only errors that can succeed on retry', async () => {
    const once = flakyModel(1);
    const retried = await new ChatDecodekit({ model: once, maxTokens: 4, maxRetries: 1 }).invoke(
      'Hello',
    );
    expect(retried.text).toBe((await new ChatDecodekit({ maxTokens: 4 }).invoke('Hello')).text);

    const noRetry = await caught(() =>
      new ChatDecodekit({ model: flakyModel(1), maxTokens: 4, maxRetries: 0 }).invoke('Hello'),
    );
    expect(BackendError.isInstance(noRetry)).toBe(true);

    // A deterministic failure is not retried, whatever maxRetries says.
    let attempts = 0;
    const broken: LogitsProcessor<undefined> = {
      name: 'broken',
      init: () => {
        attempts += 1;
        throw new InvalidArgumentError({ argument: 'broken', message: 'always fails.' });
      },
      advance: state => state,
      process: () => {},
    };
    const deterministic = await caught(() =>
      new ChatDecodekit({ maxTokens: 4, maxRetries: 3, processors: [broken] }).invoke('Hello'),
    );
    expect(InvalidArgumentError.isInstance(deterministic)).toBe(true);
    expect(attempts).toBe(1);
  });
});
